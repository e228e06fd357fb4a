"""The session broker and Postgres really answer; embedded start, restart and state."""

from __future__ import annotations

import hashlib
import stat
import time
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from pydantic import SecretStr
from sqlalchemy import make_url

from infra.embedded import EmbeddedInfra, InfraPaths
from infra.embedded.state import read_state
from infra.endpoints import Endpoints, InfraNotRunning, resolve_endpoints
from infra.settings import CommonSettings
from infra.topics import ensure_topics, topic_partitions

pytestmark = pytest.mark.integration

BIG = int(1.5 * 1024 * 1024)
LIMIT = 4 * 1024 * 1024


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def _consume_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_bytes=2 * LIMIT,
        max_partition_fetch_bytes=2 * LIMIT,
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
        return values
    finally:
        consumer.close()


def test_broker_answers_metadata(infra: Endpoints) -> None:
    admin = KafkaAdminClient(bootstrap_servers=infra.bootstrap_servers, request_timeout_ms=5000)
    try:
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    assert cluster["brokers"], cluster


def test_large_message_round_trip(infra: Endpoints, topic_prefix: str) -> None:
    topic = f"{topic_prefix}.big"
    _create_topic(infra.bootstrap_servers, topic)
    payload = hashlib.sha256(b"seed").digest() * (BIG // 32)
    producer = KafkaProducer(
        bootstrap_servers=infra.bootstrap_servers, max_request_size=LIMIT, acks="all"
    )
    try:
        metadata = producer.send(topic, payload).get(timeout=30)
    finally:
        producer.close()
    assert metadata.offset == 0
    assert _consume_all(infra.bootstrap_servers, topic, 1) == [payload]


def test_idempotent_producer(infra: Endpoints, topic_prefix: str) -> None:
    topic = f"{topic_prefix}.idem"
    _create_topic(infra.bootstrap_servers, topic)
    producer = KafkaProducer(
        bootstrap_servers=infra.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    try:
        for i in range(10):
            producer.send(topic, f"v{i}".encode(), partition=0)
        producer.flush(timeout=30)
    finally:
        producer.close()
    assert _consume_all(infra.bootstrap_servers, topic, 10) == [f"v{i}".encode() for i in range(10)]


def test_postgres_accepts_connections(infra: Endpoints) -> None:
    assert infra.database_url.startswith("postgresql+psycopg://")
    with psycopg.connect(_libpq(infra.database_url), connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT version(), current_setting('server_version_num')::int"
        ).fetchone()
    assert row is not None
    version, number = row
    assert version.startswith("PostgreSQL")
    if infra.embedded:
        assert number // 10_000 == 18, version
    else:
        assert number >= 160_000, version


_OLD_HBA = "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n"


def _socket_needs_the_password(database_url: str) -> None:
    """The socket asks every role for its password, as TCP does."""
    url = make_url(database_url)
    wrong = url.set(drivername="postgresql", password="not-" + (url.password or ""))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong.render_as_string(hide_password=False), connect_timeout=5).close()
    tcp = url.set(drivername="postgresql", host="127.0.0.1", query={})
    with psycopg.connect(tcp.render_as_string(hide_password=False), connect_timeout=5) as conn:
        assert conn.execute("SELECT inet_server_addr() IS NOT NULL").fetchone() == (True,)


def test_embedded_start_restart_and_state(embedded_data_dir: Path) -> None:
    """Cold start (initdb), warm restart keeps data, state file appears and goes; Haven
    connects over the Unix socket, which asks for the password as TCP does."""
    paths = InfraPaths.for_data_dir(embedded_data_dir)
    timings = []
    for round_ in range(2):
        began = time.monotonic()
        infra = EmbeddedInfra(paths.data_dir, timeout_s=60)
        with infra as endpoints:
            timings.append(time.monotonic() - began)
            assert stat.S_IMODE(paths.state_file.stat().st_mode) == 0o600
            assert stat.S_IMODE(paths.password_file.stat().st_mode) == 0o600
            state = read_state(paths)
            assert state is not None
            assert state.alive()
            assert state.owner_pid is not None
            assert infra.timings is not None
            settings = CommonSettings(
                data_dir=paths.data_dir, kafka_bootstrap_servers=None, database_url=None
            )
            assert resolve_endpoints(settings) == endpoints
            with psycopg.connect(_libpq(endpoints.database_url), autocommit=True) as conn:
                if round_ == 0:
                    conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
                else:
                    assert conn.execute("SELECT v FROM kept").fetchone() == (42,)
                # Haven's own URL goes over the Unix socket (no server address) ...
                assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)
            _socket_needs_the_password(endpoints.database_url)
        if round_ == 0:
            # ... also for a cluster made when the socket took the OS user (peer): its
            # rules are written over at the next start.
            (paths.pgdata / "pg_hba.conf").write_text(_OLD_HBA, encoding="ascii")
        assert not paths.state_file.exists()
        assert not state.broker.alive()
        assert not state.postgres.alive()
    cold, warm = timings
    print(f"embedded infra: cold start {cold:.2f}s, warm restart {warm:.2f}s")
    assert warm < 15
    assert cold < 30


def test_resolve_endpoints_sources(tmp_path: Path) -> None:
    """Configured URLs win; with neither configured nor running: InfraNotRunning."""
    with pytest.raises(InfraNotRunning, match="haven infra up"):
        resolve_endpoints(
            CommonSettings(data_dir=tmp_path, kafka_bootstrap_servers=None, database_url=None)
        )
    settings = CommonSettings(
        data_dir=tmp_path,
        kafka_bootstrap_servers="kafka:9092",
        database_url=SecretStr("postgresql://u:p@db/haven"),
    )
    assert resolve_endpoints(settings) == Endpoints(
        "kafka:9092", "postgresql+psycopg://u:p@db/haven", embedded=False
    )
    assert "p@db" not in repr(resolve_endpoints(settings))


def test_ensure_topics_makes_the_missing_ones_in_one_request(
    infra: Endpoints, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests: list[list[str]] = []
    real = KafkaAdminClient.create_topics

    def counted(admin: KafkaAdminClient, new_topics: list[NewTopic], **kwargs: object) -> object:
        requests.append([topic.name for topic in new_topics])
        return real(admin, new_topics, **kwargs)

    monkeypatch.setattr(KafkaAdminClient, "create_topics", counted)
    names = [f"{topic_prefix}.ensure.{n}" for n in range(5)]
    spec = [NewTopic(name, num_partitions=2, replication_factor=1) for name in names]
    assert ensure_topics(infra.bootstrap_servers, spec[:2]) == names[:2]
    assert ensure_topics(infra.bootstrap_servers, spec) == names[2:]  # the first two exist
    assert requests == [names[:2], names[2:]]  # one request each, none per topic
    assert ensure_topics(infra.bootstrap_servers, spec) == []
    assert len(requests) == 2  # nothing missing: nothing asked
    # Made by another process between the listing and the request: not an error.
    monkeypatch.setattr(KafkaAdminClient, "list_topics", lambda admin: [])
    assert ensure_topics(infra.bootstrap_servers, spec) == []
    assert requests[-1] == names
    partitions = topic_partitions(infra.bootstrap_servers, names)
    assert {name: len(found) for name, found in partitions.items()} == dict.fromkeys(names, 2)
