"""The scheduler's round ends between steps once a stop is asked (real Postgres and broker).

At 600 agencies one round took tens of seconds; a stop that waited for the
whole round could outlast the engine's share of the stop timeout.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter

import pytest
from sqlalchemy import Engine, text

import projectors.scheduler as scheduler_module
from infra.endpoints import Endpoints
from infra.topics import core_topics, ensure_topics
from projectors.bootstrap import construct_scheduler
from projectors.keys.keyring import Keyring

pytestmark = pytest.mark.integration

_DUE = text(
    "INSERT INTO haven_core.consent_expiries (subject_id, consent_id, expires_at)"
    " VALUES (:s, :c, now() - interval '1 minute')"
)
_EMITTED = text(
    "SELECT emitted_at IS NOT NULL FROM haven_core.consent_expiries WHERE subject_id = :s"
)


def test_a_stop_during_a_step_ends_the_round_and_the_rest_waits_for_the_next(
    infra: Endpoints, engine: Engine, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_topics(infra.bootstrap_servers, core_topics(topic_prefix, 1))
    subject = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(_DUE, {"s": subject, "c": "c-1"})
    keyring = Keyring(engine, os.urandom(32))
    stopping = construct_scheduler(engine, infra.bootstrap_servers, topic_prefix, keyring, 0.1)
    destroy = scheduler_module.destroy_due_keys

    def destroy_then_stop(*args: object) -> int:
        stopping.stop()  # the worker stops while the first step runs
        return destroy(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler_module, "destroy_due_keys", destroy_then_stop)
    assert stopping.tick() == Counter({"erasures_executed": 0})
    with engine.connect() as conn:
        assert conn.execute(_EMITTED, {"s": subject}).scalar_one() is False
    monkeypatch.undo()
    # The next worker's scheduler does what was left, and the whole round.
    following = construct_scheduler(engine, infra.bootstrap_servers, topic_prefix, keyring, 0.1)
    done = following.tick()
    assert set(done) == {
        "erasures_executed",
        "expiries_emitted",
        "system_events_relayed",
        "notices_relayed",
    }
    assert done["expiries_emitted"] == 1
    assert done["system_events_relayed"] >= 1
    with engine.connect() as conn:
        assert conn.execute(_EMITTED, {"s": subject}).scalar_one() is True


@pytest.mark.parametrize("failures", [2, 4])
def test_a_failing_step_is_a_warning_until_it_keeps_failing(
    infra: Endpoints,
    engine: Engine,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failures: int,
) -> None:
    ensure_topics(infra.bootstrap_servers, core_topics(topic_prefix, 1))
    scheduler = construct_scheduler(
        engine, infra.bootstrap_servers, topic_prefix, Keyring(engine, os.urandom(32)), 0.01
    )
    calls = []

    def hiccup(*_args: object) -> int:
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("connection dropped")
        scheduler.stop()  # the round after the failures passes; then stop
        return 0

    monkeypatch.setattr(scheduler_module, "destroy_due_keys", hiccup)
    with caplog.at_level("INFO", logger="haven.scheduler"):
        asyncio.run(scheduler.run())
    # The scheduler's own lines: a slow host's Kafka client may warn meanwhile.
    records = [r for r in caplog.records if r.name == "haven.scheduler"]
    lines = [(r.levelname, r.getMessage(), getattr(r, "failures_in_a_row", None)) for r in records]
    errors_from = scheduler_module.FAILURES_BEFORE_ERROR
    expected = [
        (
            "WARNING" if n < errors_from else "ERROR",
            "scheduler step failed; retrying"
            if n < errors_from
            else "scheduler step keeps failing; retrying",
            n,
        )
        for n in range(1, failures + 1)
    ]
    assert lines == [*expected, ("INFO", "scheduler step recovered", failures)]
    assert all(r.exc_info and r.exc_info[0] is ConnectionError for r in records[:-1])
