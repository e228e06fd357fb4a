"""Batches of several partitions in one transaction commit what separate ones would.

The engine applies what one poll brought, the batches of all its partitions,
in one transaction (``EngineCore.apply_together``).  The CTDC scenario's log
is split into two partitions by subject (events without one, registrations
and policy changes, go to both, as every partition learns them); one
database applies each partition alone, batch by batch, the other applies
both together, a batch of each per transaction; every read model and engine
record must be identical.  A fenced partition in a combined call is refused
alone: the other's batch commits.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.engine.core import BatchResult, EngineCore
from projectors.log import LogRecord, PositionMoved, parse_record
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import compare_read_models, copy_directory
from services.scenarios.audit import build_scenario
from services.scenarios.synthetic import first_cases
from tests.conftest import fresh_database

EVENTS = 300
BATCH = 7
CORE = (
    "SELECT partition, log_offset, outcome, recipients, entry_hash FROM haven_core.audit_ledger",
    "SELECT subject_id, agency_id, log_offset, fields, bases FROM haven_core.holdings",
    "SELECT withdrawal_event_id, agency_id, projector, rows_erased"
    " FROM haven_core.erasure_receipts",
    "SELECT subject_id, state FROM haven_core.subject_states",
    "SELECT topic, partition, next_offset FROM haven_core.engine_positions",
)


@pytest.fixture(scope="module")
def partitions(infra: Endpoints) -> Iterator[tuple[EngineRig, list[list[LogRecord]]]]:
    """The scenario's log (built in its own database) split into two partitions."""
    with fresh_database(infra) as url:
        engine = sync_engine(url)
        rig = EngineRig(engine, os.urandom(32))
        build_scenario(rig, first_cases(60), EVENTS, apply=False)
        split: list[list[bytes]] = [[], []]
        for offset, raw in enumerate(rig.log):
            subject = parse_record(LogRecord(offset, raw)).subject
            for partition in (0, 1) if subject is None else (zlib.crc32(subject.encode()) % 2,):
                split[partition].append(raw)
        yield rig, [[LogRecord(o, raw) for o, raw in enumerate(part)] for part in split]
        engine.dispose()


def _chunks(records: list[LogRecord]) -> list[list[LogRecord]]:
    return [records[i : i + BATCH] for i in range(0, len(records), BATCH)]


def _core(engine: Engine) -> list[list[tuple[str, ...]]]:
    with engine.connect() as conn:
        return [sorted(tuple(map(str, row)) for row in conn.execute(text(q))) for q in CORE]


def _fresh_core(source: EngineRig, url: str) -> tuple[Engine, EngineCore]:
    engine = sync_engine(url)
    copy_directory(source.engine, engine)
    return engine, EngineRig(engine, os.urandom(32), topic=source.topic).core


def test_together_commits_what_separate_transactions_would(
    infra: Endpoints,
    partitions: tuple[EngineRig, list[list[LogRecord]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, parts = partitions
    assert all(len(part) > 100 for part in parts), "both partitions carry subjects' events"
    with fresh_database(infra) as alone_url, fresh_database(infra) as together_url:
        alone, alone_core = _fresh_core(source, alone_url)
        together, together_core = _fresh_core(source, together_url)
        try:
            for partition, part in enumerate(parts):
                position = None
                for chunk in _chunks(part):
                    result = alone_core.apply_batch(source.topic, partition, position, chunk)
                    position = result.next_offset
            positions: dict[int, int | None] = {0: None, 1: None}
            chunks = [_chunks(part) for part in parts]
            combined = 0
            for step in range(max(map(len, chunks))):
                batches = [
                    (p, positions[p], chunks[p][step]) for p in (1, 0) if step < len(chunks[p])
                ]
                outcomes = together_core.apply_together(source.topic, batches)
                combined += len(batches) > 1
                for partition, outcome in outcomes.items():
                    assert isinstance(outcome, BatchResult), outcome
                    positions[partition] = outcome.next_offset
            assert combined > 10
            failed = [r for r in caplog.records if "failed together" in r.getMessage()]
            assert not failed, "every combined call committed as one transaction"
            diffs = compare_read_models(alone, together)
            assert [d.table for d in diffs if d.live.rows], "rows to compare"
            different = [f"{d.schema}.{d.table}" for d in diffs if not d.same]
            assert not different, f"applied together differs from alone: {different}"
            assert _core(together) == _core(alone)
        finally:
            alone.dispose()
            together.dispose()


def test_a_fenced_partition_leaves_the_others_batch_committed(
    infra: Endpoints, partitions: tuple[EngineRig, list[list[LogRecord]]]
) -> None:
    source, parts = partitions
    with fresh_database(infra) as url:
        engine, core = _fresh_core(source, url)
        try:
            first = [(p, None, parts[p][:BATCH]) for p in (0, 1)]
            assert all(
                isinstance(o, BatchResult)
                for o in core.apply_together(source.topic, first).values()
            )
            # Partition 1 is at BATCH now; a caller that thinks it is at 0 is fenced.
            second: list[Any] = [(0, BATCH, parts[0][BATCH:]), (1, 0, parts[1][BATCH:])]
            outcomes = core.apply_together(source.topic, second)
            assert isinstance(outcomes[1], PositionMoved)
            assert isinstance(outcomes[0], BatchResult)
            assert core.positions(source.topic, [0, 1]) == {0: len(parts[0]), 1: BATCH}
        finally:
            engine.dispose()
