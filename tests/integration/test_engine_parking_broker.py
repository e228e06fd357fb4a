"""A poison event parks its subject alone, through the real broker and Postgres.

A projector registered for the test raises for one subject.  Its event is
parked; another subject's event on the same log partition and an erasing
withdrawal of the parked subject still apply within a second; after the fix,
a retry leaves read models equal to a clean replay of the log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer
from kafka.partitioner.default import murmur2
from sqlalchemy import Engine

from events.topics import log_topic
from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.audit.archive import read_log
from projectors.bootstrap import construct_engine_core
from projectors.engine.retry import list_parked, retry_parked
from services.api.observe import parked_subjects
from services.audit.replay import live_positions, run_replay
from tests.integration.api_rig import identification
from tests.integration.parking_rig import IDENTIFIED, RISK, Poison, poisoned_registry
from tests.integration.test_engine_parking import RISK_DATA
from tests.pipeline_rig import Pipeline, eventually

pytestmark = pytest.mark.integration
WITHDRAWN = "haven.consent.withdrawn.v1"
GRANT = {
    "consent_id": "c-1",
    "granted_at": "2026-11-01T11:00:00Z",
    "recipients": {"agency_types": ["coordinator"]},
    "purposes": ["care"],
}
ERASE = {"withdrawn_at": "2026-11-02T10:00:00Z", "scope": "all", "erase_personal_data": True}


@pytest.fixture
def poisoned(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> Iterator[tuple[Pipeline, Poison]]:
    registry, poison = poisoned_registry()
    running = Pipeline(infra, engine, master_key, topic_prefix, registry=registry)
    yield running, poison
    running.close()


def _same_partition(bootstrap: str, topic: str, subject: str) -> str:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        partitions = len(consumer.partitions_for_topic(topic) or {0})
    finally:
        consumer.close()

    def partition(key: str) -> int:
        hashed: int = murmur2(key.encode())  # kafka-python is untyped
        return (hashed & 0x7FFFFFFF) % partitions

    while partition(other := str(uuid.uuid4())) != partition(subject):
        pass
    return other


def _settled(engine: Engine, topic: str) -> bool:
    before = live_positions(engine, topic)
    time.sleep(1.0)
    return live_positions(engine, topic) == before


def test_a_poisoned_subject_is_parked_alone_and_retry_equals_a_clean_replay(
    poisoned: tuple[Pipeline, Poison], replay_database_url: str
) -> None:
    pipeline, poison = poisoned
    topic = log_topic(pipeline.prefix)
    bad = str(uuid.uuid4())
    good = _same_partition(pipeline.bootstrap, topic, bad)
    pipeline.send("gr_ngo", IDENTIFIED, bad, identification())
    pipeline.send("gr_ngo", "haven.consent.granted.v1", bad, GRANT)
    pipeline.send("gr_ngo", IDENTIFIED, bad, identification())
    eventually(lambda: bool(pipeline.rows("gr_coord", "subjects", bad)))

    poison.broken.add(bad)
    pipeline.send("gr_ngo", RISK, bad, RISK_DATA)
    pipeline.send("gr_ngo", RISK, bad, RISK_DATA)
    eventually(lambda: len(list_parked(pipeline.engine, topic, bad)) == 2)
    assert parked_subjects(pipeline.engine, topic) == 1

    pipeline.send("gr_ngo", IDENTIFIED, good, identification())
    pipeline.send("gr_ngo", WITHDRAWN, bad, ERASE)

    def applied() -> bool:
        erased = not pipeline.rows("gr_coord", "subjects", bad)
        return erased and bool(pipeline.rows("gr_ngo", "subjects", good))

    # Nothing retries the parked events here: a partition held behind them would
    # never apply these (how fast they come is the benchmark's business).
    eventually(applied, timeout_s=30.0)
    assert not pipeline.rows("gr_ngo", "subjects", bad), "the producer's rows went too (all)"
    reasons = [(p.reason, p.applied_through) for p in list_parked(pipeline.engine, topic, bad)]
    assert reasons[:3] == [
        ("parked:engine_error:RuntimeError", False),
        ("parked:subject_parked", False),
        ("applied_through", True),
    ]

    poison.broken.clear()
    eventually(lambda: _settled(pipeline.engine, topic))
    fixed, _ = poisoned_registry()  # the same projectors, none broken
    core = construct_engine_core(pipeline.engine, hold_s=0.0, registry=fixed)
    counts = retry_parked(core, topic)
    assert counts["still_parked"] == 0
    assert list_parked(pipeline.engine, topic) == []
    assert parked_subjects(pipeline.engine, topic) == 0

    eventually(lambda: _settled(pipeline.engine, topic))
    clean, _ = poisoned_registry()
    scratch = sync_engine(replay_database_url)
    records = read_log(pipeline.bootstrap, topic)
    report = run_replay(pipeline.engine, scratch, topic, records, source="log", registry=clean)
    scratch.dispose()
    assert report.ok, [d.to_json() for d in report.differences]
