"""Inbox to read models through the real broker: sealer, engine and scheduler together."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer
from sqlalchemy import Engine, text

from events.topics import notices_topic
from infra.endpoints import Endpoints
from tests.pipeline_rig import Pipeline, eventually

pytestmark = pytest.mark.e2e

AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("gr_police", "police", "GR"),
]


@pytest.fixture
def pipeline(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> Iterator[Pipeline]:
    running = Pipeline(infra, engine, master_key, topic_prefix)
    yield running
    running.close()


def expiry_receipted(pipeline: Pipeline, subject: str) -> bool:
    with pipeline.engine.connect() as conn:
        query = text(
            "SELECT 1 FROM haven_core.erasure_receipts WHERE subject_id = :s AND cause = 'expiry'"
        )
        return conn.execute(query, {"s": subject}).first() is not None


IDENTIFICATION = {
    "identified_at": "2026-11-01T10:00:00Z",
    "nationality": ["UA"],
    "exploitation_types": ["forced_labour"],
    "indicators": ["passport withheld"],
    "is_minor": False,
    "languages": ["uk"],
    "personal": {"full_name": "Test Person"},
}


def test_consent_expiry_and_withdrawal_flow_through_the_broker(pipeline: Pipeline) -> None:
    subject, other = str(uuid.uuid4()), str(uuid.uuid4())
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    for who, expiry in ((subject, expires), (other, None)):
        pipeline.send("gr_ngo", "haven.victim.identified.v1", who, IDENTIFICATION)
        grant = {
            "consent_id": f"c-{who[:8]}",
            "granted_at": datetime.now(UTC).isoformat(),
            "recipients": {"agency_types": ["coordinator", "police"]},
            "purposes": ["care", "protection"],
        }
        if expiry:
            grant["expires_at"] = expiry
        pipeline.send("gr_ngo", "haven.consent.granted.v1", who, grant)
        pipeline.send("gr_ngo", "haven.victim.identified.v1", who, IDENTIFICATION)
    eventually(lambda: bool(pipeline.rows("gr_coord", "subjects", other)))
    # The scheduler emits consent.expired when the grant's time passes: rows go. The
    # expiry is logged after the subject's earlier events, so once its receipt exists
    # they were all applied and an empty coordinator table means erased, not pending.
    eventually(lambda: expiry_receipted(pipeline, subject))
    assert not pipeline.rows("gr_coord", "subjects", subject)
    assert pipeline.rows("gr_ngo", "subjects", subject), "the producer keeps its own rows"
    withdrawal = pipeline.send(
        "gr_ngo",
        "haven.consent.withdrawn.v1",
        other,
        {"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
    )
    eventually(lambda: not pipeline.rows("gr_police", "subjects", other))
    assert not pipeline.rows("gr_ngo", "subjects", other), "rule 1 rows go on `all` too"
    notices = KafkaConsumer(
        notices_topic(pipeline.prefix, "gr_police"),
        bootstrap_servers=pipeline.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
    )
    received = []
    for record in notices:
        received.append(json.loads(record.value))
        if any(n["withdrawal_event_id"] == withdrawal for n in received):
            break
    notices.close()
    notice = next(n for n in received if n["withdrawal_event_id"] == withdrawal)
    assert notice["subject"] == other
    assert notice["rows_erased"] > 0
    assert "Test Person" not in json.dumps(received)
