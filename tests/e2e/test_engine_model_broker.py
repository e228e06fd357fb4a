"""The model-based property test, end to end: inboxes, sealer, log, engine, scheduler.

A few dozen generated sequences go through the real broker (grants that
share the record, rectifications and retractions included).  Events of one
subject from different agencies are ordered by the sealer, so the reference
model is fed each subject's events in log order, read back from the log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, text

from events.topics import log_topic
from events.types.system import ConsentExpired
from infra.endpoints import Endpoints
from projectors.outbox.store import enqueue, system_event
from tests.pipeline_rig import Pipeline
from tests.property.engine_reference import Ev, Reference
from tests.property.test_engine_vs_reference import AGENCIES, _data, agency_ix, step

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(infra: Endpoints) -> Iterator[Pipeline]:
    import secrets

    from infra.db import sync_engine
    from tests.conftest import fresh_database

    with fresh_database(infra) as url:
        engine = sync_engine(url)
        prefix = f"m{uuid.uuid4().hex[:8]}"
        pipeline = Pipeline(infra, engine, secrets.token_bytes(32), prefix, AGENCY_ROWS)
        yield pipeline
        pipeline.close()
        engine.dispose()


AGENCY_ROWS = [(a.id, a.type, a.jurisdiction) for a in AGENCIES]


def _applied(engine: Engine, ids: list[str]) -> int:
    with engine.connect() as conn:
        query = text("SELECT count(*) FROM haven_core.applied_events WHERE event_id = ANY(:i)")
        return int(conn.execute(query, {"i": ids}).scalar_one())


def _log_order(pipeline: Pipeline, subjects: set[str]) -> list[dict[str, Any]]:
    """The subjects' events as the engine applies them: in log order, each ``(source, id)``
    once (the relay delivers at least once: a record may be in the log twice, and the
    engine skips the repeat)."""
    with pipeline.engine.connect() as conn:
        ends: dict[int, int] = dict(
            conn.execute(
                text("SELECT partition, next_offset FROM haven_core.engine_positions")
            ).all()
        )
    topic = log_topic(pipeline.prefix)
    consumer = KafkaConsumer(bootstrap_servers=pipeline.bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in sorted(ends)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    events: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    while any(consumer.position(tp) < ends[tp.partition] for tp in partitions):
        for tp, batch in sorted(consumer.poll(timeout_ms=500).items()):
            for record in batch:
                event = json.loads(record.value)
                ref = (event.get("source"), event.get("id"))
                if record.offset >= ends[tp.partition] or event.get("subject") not in subjects:
                    continue
                if ref not in seen:
                    seen.add(ref)
                    events.append(event)
    consumer.close()
    return events


def _summary(pipeline: Pipeline, agency: str, subject: str) -> dict[str, Any]:
    def rows(table: str) -> list[Any]:
        return [r._mapping for r in pipeline.rows(agency, table, subject)]

    subjects, placements, orders = rows("subjects"), rows("placements"), rows("protective_orders")
    return {
        "timeline": sorted(r["event_id"] for r in rows("timeline")),
        "subjects": bool(subjects),
        "personal": bool(subjects and subjects[0]["personal"] is not None),
        "risk_register": bool(rows("risk_register")),
        "risk_level": subjects[0]["risk_level"] if subjects else None,
        "placements": sorted(r["placement_id"] for r in placements),
        "locations": sorted(r["placement_id"] for r in placements if r["location"] is not None),
        "orders": sorted(r["order_id"] for r in orders),
        "respondents": sorted(r["order_id"] for r in orders if r["respondent"] is not None),
    }


# The strategies draw no randomness of their own; the broker clients' threads
# running in this process (reconnect jitter, node choice) use the global
# ``random`` module while Hypothesis draws, which its check takes for a strategy's.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(agency_ix, min_size=2, max_size=2), steps=st.lists(step, min_size=3, max_size=20)
)
def test_through_the_broker_read_models_equal_the_reference(
    running: Pipeline, first: list[int], steps: list[tuple[str, int, int, int, bool]]
) -> None:
    subjects = [str(uuid.uuid4()) for _ in range(2)]
    ids: dict[str, dict[str, list[Any]]] = {
        s: {"grants": [], "placements": [], "orders": [], "events": []} for s in subjects
    }
    identifying: dict[str, str] = {}
    published: list[str] = []
    opening = [("identify", n, agency, 0, False) for n, agency in enumerate(first)]
    for kind, subject_ix, producer_ix, seed, home in opening + steps:
        subject = subjects[subject_ix % 2]
        producer = AGENCIES[producer_ix]
        if home and subject in identifying:
            producer = next(a for a in AGENCIES if a.id == identifying[subject])
        if kind == "expire":
            if ids[subject]["grants"]:
                expired = system_event(
                    ConsentExpired.model_validate_json(
                        json.dumps(
                            {
                                "consent_id": ids[subject]["grants"][0],
                                "expired_at": "2026-11-04T00:00:00Z",
                            }
                        )
                    ),
                    subject=subject,
                )
                with running.engine.begin() as conn:
                    enqueue(conn, expired)
                published.append(expired.id)
            continue
        event_type, data = _data(kind, subject, seed, ids[subject])
        if kind == "identify" and producer.type != "auditor":
            identifying.setdefault(subject, producer.id)
        target = [e for e in ids[subject]["events"] if e[0] == data.get("target_event_id")]
        if kind == "rectify" and home and target:
            producer = next(a for a in AGENCIES if a.id == target[0][2])
        published.append(
            running.send(producer.id, event_type, subject, data, jurisdiction=producer.jurisdiction)
        )
        ids[subject]["events"].append((published[-1], event_type, producer.id))
    deadline = time.monotonic() + 60
    while _applied(running.engine, published) < len(published):
        assert time.monotonic() < deadline, "events were not applied in time"
        time.sleep(0.1)
    reference = Reference(AGENCIES)
    for event in _log_order(running, set(subjects)):
        producer_id = event.get("agency") or "system"
        reference.apply(
            Ev(event["id"], event["type"], event["subject"], producer_id, _plain(event["data"]))
        )
    for subject in subjects:
        for agency in AGENCIES:
            assert _summary(running, agency.id, subject) == reference.summary(agency.id, subject)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Sealed personal fields are opaque to the reference: only presence matters."""
    return {
        k: (
            "sealed"
            if isinstance(v, dict) and "ct" in v
            else _plain(v)
            if isinstance(v, dict)
            else v
        )
        for k, v in data.items()
    }
