"""Agency registry on real Postgres: tokens hashed, rotation, schema and role."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from infra.endpoints import Endpoints
from projectors.directory.agencies import authenticate, hash_token, rotate_token
from projectors.directory.registration import InvalidAgency, Registration, register_agency

pytestmark = pytest.mark.integration


def _register(
    infra: Endpoints, engine: Engine, prefix: str, agency_id: str, kind: str = "ngo"
) -> Registration:
    return register_agency(
        engine,
        infra.bootstrap_servers,
        topic_prefix=prefix,
        partitions=1,
        agency_id=agency_id,
        agency_type=kind,
        jurisdiction="GR",
    )


def test_tokens_are_stored_hashed_and_authenticate(
    infra: Endpoints, engine: Engine, topic_prefix: str
) -> None:
    token = _register(infra, engine, topic_prefix, "gr_ngo").token.token
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM haven_core.agency_tokens")).scalar_one()
        assert bytes(stored) == hash_token(token)
        dump = conn.execute(text("SELECT row_to_json(t)::text FROM haven_core.agency_tokens t"))
        secret = token.split("_", 2)[2]  # hvn_<id>_<secret>; the secret may hold "_" itself
        assert secret not in dump.scalar_one()
        assert authenticate(conn, token) == "gr_ngo"
        assert authenticate(conn, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert authenticate(conn, "not-a-token") is None


def test_rotation_revokes_old_tokens_unless_kept(
    infra: Endpoints, engine: Engine, topic_prefix: str
) -> None:
    first = _register(infra, engine, topic_prefix, "gr_ngo").token.token
    kept = rotate_token(engine, "gr_ngo", overlap_s=None).token
    with engine.connect() as conn:
        assert authenticate(conn, first) == "gr_ngo"
        assert authenticate(conn, kept) == "gr_ngo"
    newest = rotate_token(engine, "gr_ngo").token
    with engine.connect() as conn:
        assert authenticate(conn, first) is None
        assert authenticate(conn, kept) is None
        assert authenticate(conn, newest) == "gr_ngo"


def test_agency_role_reads_only_its_own_schema(
    infra: Endpoints, engine: Engine, topic_prefix: str
) -> None:
    _register(infra, engine, topic_prefix, "gr_ngo")
    _register(infra, engine, topic_prefix, "it_police", "police")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE agency_gr_ngo.probe (x int)"))
        conn.execute(text("CREATE TABLE agency_it_police.probe (x int)"))
    with engine.connect() as conn:
        role = conn.execute(
            text("SELECT db_role FROM haven_core.agencies WHERE id = 'gr_ngo'")
        ).scalar_one()
        conn.execute(text(f'SET ROLE "{role}"'))
        assert conn.execute(text("SELECT count(*) FROM agency_gr_ngo.probe")).scalar_one() == 0
        conn.execute(text("RESET ROLE"))
    for forbidden in ("agency_it_police.probe", "haven_core.agency_tokens", "haven_core.keys"):
        with engine.connect() as conn:
            conn.execute(text(f'SET ROLE "{role}"'))
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text(f"SELECT * FROM {forbidden}"))
            conn.rollback()
            conn.execute(text("RESET ROLE"))


def test_invalid_registration_creates_nothing(
    infra: Endpoints, engine: Engine, topic_prefix: str
) -> None:
    with pytest.raises(InvalidAgency, match="--type") as caught:
        _register(infra, engine, topic_prefix, "Bad Id!", "spy")
    assert "--id" in str(caught.value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM haven_core.agencies")).scalar_one() == 0
        schemas = conn.execute(
            text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'agency_%'")
        ).scalar_one()
        assert schemas == 0


def test_registration_event_reaches_every_log_partition_once(
    infra: Endpoints, engine: Engine, topic_prefix: str
) -> None:
    import json

    from kafka import KafkaConsumer, TopicPartition

    from events.codec import parse_log_record
    from events.topics import log_topic

    registration = register_agency(
        engine,
        infra.bootstrap_servers,
        topic_prefix=topic_prefix,
        partitions=3,
        agency_id="gr_ngo",
        agency_type="ngo",
        jurisdiction="GR",
        name="Athens NGO",
    )
    topic = log_topic(topic_prefix)
    consumer = KafkaConsumer(bootstrap_servers=infra.bootstrap_servers, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    consumer.seek_to_beginning()
    records = [
        r for _ in range(20) for batch in consumer.poll(timeout_ms=250).values() for r in batch
    ]
    consumer.close()
    assert sorted(r.partition for r in records) == [0, 1, 2]
    events = [parse_log_record(r.value) for r in records]
    assert len({e.id for e in events}) == 1
    event = events[0]
    assert event.source == "urn:haven:system"
    assert event.type == "haven.agency.registered.v1"
    assert event.data == registration.event
    assert registration.token.token not in json.dumps([r.value.decode() for r in records])
    with engine.connect() as conn:
        pending = conn.execute(
            text("SELECT count(*) FROM haven_core.system_outbox WHERE relayed_at IS NULL")
        ).scalar_one()
    assert pending == 0
