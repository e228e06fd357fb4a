"""Batches of several partitions in one transaction commit what separate ones would.

The engine applies what one poll brought, the batches of all its partitions,
in one transaction (``EngineCore.apply_together``).  The CTDC scenario's log
is split into two partitions by subject (events without one, registrations
and policy changes, go to both, as every partition learns them); one
database applies each partition alone, batch by batch, the other applies
both together, a batch of each per transaction; every read model and engine
record must be identical.  A fenced partition in a combined call is refused
alone: the other's batch commits.  The reads that open the batches of a
transaction, sent together, find what each read alone does.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from infra.db import read_together, sync_engine
from infra.endpoints import Endpoints
from projectors.audit.ledger import head_statement
from projectors.bootstrap import engine_pool
from projectors.engine.applied import drop_applied, load_subjects
from projectors.engine.context import PartitionContext
from projectors.engine.core import BatchResult, EngineCore
from projectors.engine.opening import open_batches
from projectors.log import ENGINE_POSITIONS, LogRecord, PositionMoved, parse_record
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


def test_opening_reads_every_partition_as_the_reads_one_by_one_would(
    infra: Endpoints, partitions: tuple[EngineRig, list[list[LogRecord]]]
) -> None:
    """``open_batches`` sends the start of every partition's batch in one round trip;
    what it reads (context, fresh events, subject states and parking, chain head)
    is what each read on its own finds, and a moved position is still refused."""
    source, parts = partitions
    half = [len(part) // 2 for part in parts]
    with fresh_database(infra) as url:
        engine, core = _fresh_core(source, url)
        try:
            for p in (0, 1):
                core.apply_batch(source.topic, p, None, parts[p][: half[p]])
            # The next batches start with records applied already (redelivered).
            batches: list[Any] = [
                (p, half[p], [parse_record(r) for r in parts[p][half[p] - 3 : half[p] + 40]])
                for p in (0, 1)
            ]
            with engine.begin() as conn:
                openings = open_batches(conn, source.topic, batches)
            for partition, expected, logged in batches:
                opening = openings[partition]
                with engine.begin() as conn:
                    fence = read_together(conn, ENGINE_POSITIONS.fence(source.topic, partition))
                    ENGINE_POSITIONS.check(fence, source.topic, partition, expected)
                    fresh = drop_applied(conn, source.topic, partition, logged)
                    subjects = {e.subject for e in fresh if e.subject}
                    states, held = load_subjects(conn, source.topic, partition, subjects)
                    context = PartitionContext.load(conn, source.topic, partition)
                    (head,) = read_together(conn, [head_statement(source.topic, partition)])
                assert [e.offset for e in opening.fresh] == [e.offset for e in fresh]
                assert len(fresh) == len(logged) - 3, "the redelivered records are dropped"
                assert {s: st.to_json() for s, st in opening.states.items()} == {
                    s: st.to_json() for s, st in states.items()
                }
                assert opening.states, "subjects seen before have stored states"
                assert opening.held == held
                assert opening.context == context
                assert head, "the chain has a head"
                assert opening.head == head
            moved = [(0, half[0], batches[0][2]), (1, half[1] + 1, batches[1][2])]
            with pytest.raises(PositionMoved, match=r"\[1\]"), engine.begin() as conn:
                open_batches(conn, source.topic, moved)
        finally:
            engine.dispose()


def test_a_dropped_connection_is_tried_once_more_without_a_pause(
    infra: Endpoints,
    partitions: tuple[EngineRig, list[list[LogRecord]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The engine's pool checks no connection before use: when Postgres dropped the
    idle ones (a restart), the next transaction fails on it and is tried again at
    once on a new connection, so the batch commits in the same call."""
    source, parts = partitions
    with fresh_database(infra) as url:
        engine = engine_pool(url)
        copy_directory(source.engine, engine)
        core = EngineRig(engine, os.urandom(32), topic=source.topic).core
        admin = sync_engine(url)
        try:
            first = [(p, None, parts[p][:BATCH]) for p in (0, 1)]
            assert all(
                isinstance(o, BatchResult)
                for o in core.apply_together(source.topic, first).values()
            )
            with admin.connect() as conn:
                dropped = conn.exec_driver_sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalar_one()
            assert dropped > 0, "the core's idle connection is dropped"
            # One partition's batch: no combined transaction falls back to one alone.
            outcome = core.apply_together(source.topic, [(0, BATCH, parts[0][BATCH:][:BATCH])])
            assert isinstance(outcome[0], BatchResult), outcome
            assert core.positions(source.topic, [0, 1]) == {0: 2 * BATCH, 1: BATCH}
            retried = [r for r in caplog.records if "once more" in r.getMessage()]
            assert retried, "the first try met the dropped connection"
        finally:
            engine.dispose()
            admin.dispose()
