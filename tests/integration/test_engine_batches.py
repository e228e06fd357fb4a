"""Differential: the CTDC scenario in batches of 1, 7 and 2,000 events gives the same state.

The engine decides a whole batch in memory and writes its rows set-based, so
batch boundaries must not show: one log (identifications, grants, expiries,
withdrawals with erasure, rectifications, agencies joining a third of the way
in, a policy change half-way) is applied to three fresh databases in batches
of 1, 7 and 2,000 events; every agency's read models, the statistics, the
erasure receipts, the holdings and the audit chain must be identical.  With
one batch of 2,000, every withdrawal erases rows written earlier in its own
batch and must leave those written after it.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import compare_read_models, copy_directory
from services.scenarios.audit import build_scenario
from services.scenarios.builders import identification, risk_assessment
from services.scenarios.synthetic import first_cases
from tests.conftest import fresh_database

EVENTS = 400
IDENTIFIED = "haven.victim.identified.v1"
RISK = "haven.risk.assessed.v1"
BATCHES = (1, 7, 2000)
#: Engine records outside the read models that batching must not change either.
CORE = {
    "receipts": "SELECT withdrawal_event_id, agency_id, projector, cause, rows_erased,"
    " rows_retained, retained_bases FROM haven_core.erasure_receipts",
    "holdings": "SELECT subject_id, agency_id, log_offset, fields, bases FROM haven_core.holdings",
    "ledger": "SELECT log_offset, outcome, recipients, entry_hash FROM haven_core.audit_ledger",
    "grants": "SELECT grant_event_id, agency_id, events_shared FROM haven_core.grant_receipts",
    "notices": "SELECT notice_id, payload FROM haven_core.notice_outbox",
    "retained": "SELECT subject_id, agency_id, log_offset, fields"
    " FROM haven_core.retained_deliveries",
}


@pytest.fixture(scope="module")
def source(infra: Endpoints) -> Iterator[EngineRig]:
    """The scenario's log, built (sealed, not applied) in its own database."""
    with fresh_database(infra) as url:
        engine = sync_engine(url)
        rig = EngineRig(engine, os.urandom(32))
        build_scenario(rig, first_cases(100), EVENTS, apply=False)
        for n in range(3):
            _erased_within_a_batch(rig, str(uuid.UUID(int=n + 1)), n)
        yield rig
        engine.dispose()


def _erased_within_a_batch(rig: EngineRig, subject: str, n: int) -> None:
    """Shared, then withdrawn (or expired) a few events later, then more events."""
    at = datetime(2026, 4, 1, tzinfo=UTC)

    def send(event_type: str, data: dict[str, Any]) -> None:
        rig.publish("gr_ngo", event_type, data, subject=subject, time=at)

    send(IDENTIFIED, identification(first_cases(1)[0], random.Random(n), at))
    consent = {
        "consent_id": f"batch-consent-{n}",
        "granted_at": at.isoformat(),
        "recipients": {"agency_types": ["coordinator", "police", "shelter", "health"]},
        "purposes": ["care", "protection", "investigation"],
    }
    send("haven.consent.granted.v1", consent)
    send(RISK, risk_assessment(random.Random(n), at, "critical"))
    if n == 2:
        expiry = {"consent_id": consent["consent_id"], "expired_at": at.isoformat()}
        rig.system("haven.consent.expired.v1", expiry, subject=subject)
    else:
        scope = "all" if n == 0 else {"agencies": ["it_police"]}
        withdrawal = {"withdrawn_at": at.isoformat(), "scope": scope, "erase_personal_data": n == 0}
        send("haven.consent.withdrawn.v1", withdrawal)
    send(RISK, risk_assessment(random.Random(n), at, "high"))


def _core(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted((tuple(map(str, row)) for row in conn.execute(text(query))), key=str)
            for name, query in CORE.items()
        }


def test_batch_sizes_give_identical_state(
    infra: Endpoints, source: EngineRig, caplog: pytest.LogCaptureFixture
) -> None:
    applied: dict[int, Engine] = {}
    with (
        fresh_database(infra) as one,
        fresh_database(infra) as seven,
        fresh_database(infra) as many,
    ):
        for size, url in zip(BATCHES, (one, seven, many), strict=True):
            engine = applied[size] = sync_engine(url)
            copy_directory(source.engine, engine)
            rig = EngineRig(engine, os.urandom(32), topic=source.topic)
            rig.log = list(source.log)
            rig.run(batch_size=size)
        try:
            fallbacks = [r for r in caplog.records if "event by event" in r.getMessage()]
            assert not fallbacks, "every batch applied whole, not isolated after a failure"
            reference = applied[1]
            expected = _core(reference)
            assert expected["receipts"], "the scenario erases"
            assert any(row[1] == "refused" for row in expected["ledger"]), "and refuses"
            with reference.connect() as conn:
                police = conn.execute(
                    text(
                        "SELECT subject_id FROM agency_it_police.timeline"
                        " WHERE subject_id = ANY(:s)"
                    ),
                    {"s": [str(uuid.UUID(int=n + 1)) for n in range(3)]},
                ).all()
            assert not police, "what the withdrawals and the expiry ended is gone"
            for size in BATCHES[1:]:
                diffs = compare_read_models(reference, applied[size])
                assert len(diffs) > 30, "every agency's tables and the statistics"
                assert [d.table for d in diffs if d.live.rows], "rows to compare"
                different = [f"{d.schema}.{d.table}" for d in diffs if not d.same]
                assert not different, f"batches of {size} differ from batches of 1: {different}"
                actual = _core(applied[size])
                for name, rows in expected.items():
                    assert actual[name] == rows, f"{name}: batches of {size} differ"
        finally:
            for engine in applied.values():
                engine.dispose()
