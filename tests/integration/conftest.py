"""Per-test isolation on the session's real Postgres: a fresh database each."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, make_url, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.migrate import migrate


@pytest.fixture
def database_url(infra: Endpoints) -> Iterator[str]:
    """A new, migrated database for one test, dropped afterwards."""
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
