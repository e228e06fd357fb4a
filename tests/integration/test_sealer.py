"""The sealer against the real broker and Postgres (issue: sealed log)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from events.sealing import ERASED, open_value
from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.sealer.config import INBOX_FETCH_BYTES
from services.scenarios.builders import cloudevent, identification, risk_assessment
from services.scenarios.synthetic import first_cases
from tests.integration.harness import SealerHarness, running_harness

pytestmark = pytest.mark.integration

NAME, DOB, CONTACT = "Zoryana Quillfeather", "1999-04-17", "+30 690 5551234"
NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def harness(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> Iterator[SealerHarness]:
    with running_harness(
        infra.bootstrap_servers,
        topic_prefix,
        engine,
        master_key,
        ("gr_ngo", "ngo", "GR"),
        ("it_police", "police", "IT"),
    ) as running:
        yield running


def identified(
    agency: str = "gr_ngo", subject: str | None = None, **overrides: object
) -> dict[str, Any]:
    case = first_cases(1)[0]
    data = identification(case, random.Random(7), NOW)
    data["personal"] = {"full_name": NAME, "date_of_birth": DOB, "contact": CONTACT}
    event = cloudevent(
        agency=agency,
        jurisdiction="GR",
        event_type="haven.victim.identified.v1",
        subject=subject or str(uuid.uuid4()),
        time=NOW,
        data=data,
    )
    event.update(overrides)
    return event


def test_personal_values_never_reach_the_log_in_clear(harness: SealerHarness) -> None:
    event = identified()
    harness.send("gr_ngo", event)
    [record] = harness.log(1)
    for secret in (NAME, DOB, CONTACT):
        assert secret.encode() not in record["raw"]
    sealed = record["json"]["data"]["personal"]
    assert sealed["sealed"] == "v1"
    assert sealed["kid"] == f"subj:{event['subject']}:0"
    opened = open_value(sealed, event["id"], "data.personal", harness.keyring.key)
    assert opened == {"full_name": NAME, "date_of_birth": DOB, "contact": CONTACT}
    assert record["key"] == event["subject"].encode()


def _order_issued(subject: str) -> dict[str, Any]:
    data = {
        "order_id": f"order-{uuid.uuid4()}",
        "issued_at": NOW.isoformat(),
        "issuing_jurisdiction": "IT",
        "order_type": "no_contact",
        "valid_from": NOW.isoformat(),
        "valid_until": "2027-11-01T00:00:00+00:00",
        "recognized_in": ["IT", "GR"],
        "respondent": {"name": "Respondent Rhodes"},
    }
    return cloudevent(
        agency="it_police",
        jurisdiction="IT",
        event_type="haven.protective-order.issued.v1",
        subject=subject,
        time=NOW,
        data=data,
    )


def _withdrawal(subject: str, erase: bool) -> dict[str, Any]:
    data = {"withdrawn_at": NOW.isoformat(), "scope": "all", "erase_personal_data": erase}
    return cloudevent(
        agency="gr_ngo",
        jurisdiction="GR",
        event_type="haven.consent.withdrawn.v1",
        subject=subject,
        time=NOW,
        data=data,
    )


def _open(harness: SealerHarness, record: dict[str, Any], field: str) -> Any:
    event = record["json"]
    return open_value(event["data"][field], event["id"], f"data.{field}", harness.keyring.key)


def test_destroying_epochs_erases_exactly_their_fields(harness: SealerHarness) -> None:
    subject, other = str(uuid.uuid4()), str(uuid.uuid4())
    before = identified(subject=subject)
    order = _order_issued(subject)
    later = identified(subject=subject)
    for agency, event in [
        ("gr_ngo", before),
        ("it_police", order),
        ("gr_ngo", _withdrawal(subject, erase=True)),
        ("gr_ngo", later),
        ("gr_ngo", identified(subject=other)),
    ]:
        harness.send(agency, event)
    records = {r["json"]["id"]: r for r in harness.log(5)}
    assert records[later["id"]]["json"]["data"]["personal"]["kid"] == f"subj:{subject}:1"

    keyring = harness.keyring
    assert keyring.destroy(keyring.subject_kids_up_to(subject, 0)) == [f"subj:{subject}:0"]
    assert _open(harness, records[before["id"]], "personal") == ERASED
    assert _open(harness, records[later["id"]], "personal")["full_name"] == NAME
    assert _open(harness, records[order["id"]], "respondent") == {"name": "Respondent Rhodes"}
    other_id = next(i for i, r in records.items() if r["json"]["subject"] == other)
    assert _open(harness, records[other_id], "personal")["full_name"] == NAME


def test_same_event_twice_yields_one_log_record(harness: SealerHarness) -> None:
    event = identified()
    harness.send("gr_ngo", event)
    harness.send("gr_ngo", event)
    marker = identified()
    harness.send("gr_ngo", marker)
    records = harness.log(2)
    ids = [r["json"]["id"] for r in records]
    assert ids.count(event["id"]) == 1
    assert marker["id"] in ids
    assert harness.sealer is not None
    assert harness.sealer.batch.stats.counts["duplicate"] == 1


def _dlq_cases() -> list[tuple[str, str, bytes]]:
    valid = identified()
    as_police = identified(agency="it_police")
    from_other_source = identified(source="urn:haven:agency:it_police")
    bad_schema = identified()
    bad_schema["data"]["nationality"] = [NAME]
    no_subject = identified()
    del no_subject["subject"]
    unknown_type = identified(type="haven.victim.teleported.v1")
    huge = identified()
    huge["data"]["indicators"] = [NAME * 30] * 2000
    return [
        ("invalid_json", "gr_ngo", b'{"full_name": "' + NAME.encode() + b'"'),
        ("unknown_type", "gr_ngo", json.dumps(unknown_type).encode()),
        ("schema_violation", "gr_ngo", json.dumps(bad_schema).encode()),
        ("agency_mismatch", "gr_ngo", json.dumps(as_police).encode()),
        ("agency_mismatch", "gr_ngo", json.dumps(from_other_source).encode()),
        ("missing_subject", "gr_ngo", json.dumps(no_subject).encode()),
        ("too_large", "gr_ngo", json.dumps(huge).encode()),
        ("unknown_agency", "xx_ghost", json.dumps(identified(agency="xx_ghost")).encode()),
        ("sealed", "gr_ngo", json.dumps(valid).encode()),
    ]


def test_every_dlq_reason_without_personal_values(harness: SealerHarness) -> None:
    cases = _dlq_cases()
    [too_large] = [raw for reason, _, raw in cases if reason == "too_large"]
    assert len(too_large) > INBOX_FETCH_BYTES, "a record over the fetch limit still comes"
    for _reason, agency, raw in cases:
        harness.send_raw(agency, raw)
    rejected = [c for c in cases if c[0] != "sealed"]
    dlq = harness.dlq(len(rejected))
    assert sorted(r["json"]["reason"] for r in dlq) == sorted(c[0] for c in rejected)
    for record in dlq:
        assert NAME.encode() not in record["raw"]
        assert DOB.encode() not in record["raw"]
        assert record["json"]["original"]["kid"].startswith("dlq:")
    schema_errors = next(r for r in dlq if r["json"]["reason"] == "schema_violation")
    assert schema_errors["json"]["errors"][0]["path"] == "data.nationality[0]"
    assert len(harness.log(1)) == 1  # the valid record among them was sealed


def test_dlq_original_bytes_open_with_the_dlq_key(harness: SealerHarness) -> None:
    raw = b'{"not": "an event", "name": "' + NAME.encode() + b'"}'
    harness.send_raw("gr_ngo", raw)
    [record] = harness.dlq(1)
    body = record["json"]
    seal_id = f"dlq:{body['source_topic']}:{body['source_partition']}:{body['source_offset']}"
    opened = open_value(body["original"], seal_id, "original", harness.keyring.key)
    assert isinstance(opened, str)
    import base64

    assert base64.b64decode(opened) == raw


def test_ctdc_events_reach_the_log_in_per_subject_order(harness: SealerHarness) -> None:
    agencies = ["gr_ngo", "it_police", "es_shelter", "ro_coord", "bg_health"]
    for agency, kind in zip(agencies[2:], ["shelter", "coordinator", "health"], strict=True):
        harness.register(agency, kind, agency[:2].upper())
    rng = random.Random(42)
    subjects = [str(uuid.uuid4()) for _ in range(500)]
    cases = first_cases(500)
    sent: dict[str, list[str]] = {s: [] for s in subjects}
    home = {s: agencies[i % 5] for i, s in enumerate(subjects)}
    for n in range(2000):
        subject = subjects[n % 500] if n < 500 else rng.choice(subjects)
        agency = home[subject]
        if n < 500:
            data, kind = identification(cases[n], rng), "haven.victim.identified.v1"
        else:
            data, kind = risk_assessment(rng, NOW), "haven.risk.assessed.v1"
        event = cloudevent(
            agency=agency,
            jurisdiction=harness.jurisdictions[agency],
            event_type=kind,
            subject=subject,
            time=NOW,
            data=data,
        )
        sent[subject].append(event["id"])
        harness.send_raw(agency, json.dumps(event).encode(), subject.encode())
    records = sorted(harness.log(2000, timeout_s=120), key=lambda r: (r["partition"], r["offset"]))
    assert len(records) == 2000
    seen: dict[str, list[str]] = {s: [] for s in subjects}
    for record in records:
        seen[record["json"]["subject"]].append(record["json"]["id"])
    assert seen == sent


def test_agency_registered_while_running_is_consumed_from_its_first_record(
    harness: SealerHarness,
) -> None:
    harness.register("pt_legal", "legal_aid", "PT")
    first = identified(agency="pt_legal", jurisdiction="PT")
    harness.send("pt_legal", first)
    [record] = harness.log(1, timeout_s=60)
    assert record["json"]["id"] == first["id"]


def test_sealed_records_are_deleted_from_the_inbox_or_fallback_is_reported(
    harness: SealerHarness,
) -> None:
    """Real Kafka deletes sealed inbox records; the embedded Tansu has no DeleteRecords
    (it drops the connection), so there the janitor must switch itself off and the
    sealer must keep sealing."""
    from kafka import KafkaConsumer, TopicPartition

    from events.topics import inbox_topic

    harness.send("gr_ngo", identified())
    harness.log(1)
    topic = inbox_topic(harness.prefix, "gr_ngo")
    consumer = KafkaConsumer(bootstrap_servers=harness.bootstrap)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    deadline = time.monotonic() + 10
    deleted = 0
    while time.monotonic() < deadline and not deleted:
        deleted = sum(consumer.beginning_offsets(partitions).values())
        time.sleep(0.5)
    consumer.close()
    assert harness.sealer is not None
    janitor_on = harness.sealer.janitor.enabled
    assert deleted >= 1 if janitor_on else deleted == 0
    later = identified()
    harness.send("gr_ngo", later)
    assert later["id"] in [r["json"]["id"] for r in harness.log(2)]


def test_a_restarted_sealer_resumes_from_postgres_without_duplicates(
    harness: SealerHarness,
) -> None:
    first = [identified() for _ in range(30)]
    for event in first:
        harness.send("gr_ngo", event)
    harness.log(30)
    harness.stop()
    second = [identified() for _ in range(30)]
    for event in second:
        harness.send("gr_ngo", event)
    harness.start()
    records = harness.log(60, timeout_s=60)
    ids = [r["json"]["id"] for r in records]
    assert sorted(ids) == sorted(e["id"] for e in first + second)
    assert harness.sealer is not None
    assert harness.sealer.batch.stats.counts["sealed"] == 30  # only the new ones


def _terminate_others(admin: Engine) -> int:
    with admin.connect() as conn:
        killed = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).scalar_one()
    return int(killed)


def test_a_sealer_without_pre_ping_recovers_when_its_connections_drop(
    infra: Endpoints,
    engine: Engine,
    database_url: str,
    master_key: bytes,
    topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worker's sealer checks no connection before use (a round trip each, a fifth of
    its time at small batches): a batch that meets a dropped connection fails whole and
    is sealed again from the stored positions; every event reaches the log."""
    quiet = sync_engine(database_url, pre_ping=False)
    agencies = [("gr_ngo", "ngo", "GR")]
    try:
        with running_harness(
            infra.bootstrap_servers, topic_prefix, quiet, master_key, *agencies
        ) as harness:
            sent = [identified() for _ in range(20)]
            for event in sent:
                harness.send("gr_ngo", event)
            harness.log(20)
            assert _terminate_others(engine) > 0, "the sealer's idle connections are dropped"
            for round_ in range(3):
                batch = [identified() for _ in range(20)]
                for event in batch:
                    harness.send("gr_ngo", event)
                sent += batch
                if round_ == 1:
                    _terminate_others(engine)  # while it seals
            expected = {e["id"] for e in sent}
            deadline = time.monotonic() + 60
            found: set[str] = set()
            while not expected <= found and time.monotonic() < deadline:
                found = {r["json"]["id"] for r in harness.log(len(sent) + 5, timeout_s=5)}
            assert expected <= found, f"{len(expected - found)} accepted events never sealed"
            assert harness.sealer is not None
            assert harness.sealer.batch.stats.counts["sealed"] == len(sent)
        retried = [r for r in caplog.records if "retrying" in r.getMessage()]
        assert retried, "a dropped connection failed a batch or a relay round, which retried"
    finally:
        quiet.dispose()
