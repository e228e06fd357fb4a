"""The engine's transaction: one batch of one log partition, fenced, exactly once.

``EngineCore.apply_batch`` is blocking (the service runs it in a thread) and
needs no Kafka: tests and replays feed it log records directly.  See
docs/engine.md "Batches, positions, fencing".
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from events.types import ConsentGranted, RecordRectified
from infra.bulk import Columns, bulk_insert
from infra.db import pipelined
from projectors.audit.ledger import record_batch
from projectors.consent.subject_state import SubjectState
from projectors.engine.apply import Applier
from projectors.engine.batch import BatchScope, EngineSettings
from projectors.engine.context import PartitionContext, PolicyBook
from projectors.engine.parking import Parking, connection_lost
from projectors.engine.prefetch import prefetch
from projectors.keys.keyring import Keyring
from projectors.log import ENGINE_POSITIONS, LoggedEvent, LogRecord, PositionMoved, parse_record
from projectors.policy.model import Policy
from projectors.readmodels.sdk import ProjectorRegistry

logger = logging.getLogger("haven.engine")
APPLIED: Columns = (
    ("topic", "text"),
    ("partition", "int"),
    ("source", "text"),
    ("event_id", "text"),
)
STATES: Columns = (("subject_id", "text"), ("state", "jsonb"))
STATES_UPSERT = "ON CONFLICT (subject_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"
GRANTED, RECTIFIED = ConsentGranted.event_type, RecordRectified.event_type


@dataclass
class BatchResult:
    """What one committed batch did."""

    next_offset: int
    counts: Counter[str] = field(default_factory=Counter)
    destroyed_kids: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0


class EngineCore:
    """Applies batches of one partition in one Postgres transaction each."""

    def __init__(
        self,
        engine: Engine,
        registry: ProjectorRegistry,
        policy: Policy,
        settings: EngineSettings,
        keyring: Keyring | None = None,
    ) -> None:
        self._engine = engine
        self.registry = registry
        self.policies = PolicyBook(policy)
        self.settings = settings
        self._keyring = keyring
        self._ready_schemas: set[str] = set()

    @property
    def engine(self) -> Engine:
        """The database this core writes to."""
        return self._engine

    def positions(self, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        """Stored next offsets (a partition never applied is absent)."""
        with self._engine.connect() as conn:
            stored = ENGINE_POSITIONS.read(conn, topic, partitions)
        return {partition: offset for (_, partition), offset in stored.items()}

    def apply_batch(
        self, topic: str, partition: int, expected: int | None, records: Sequence[LogRecord]
    ) -> BatchResult:
        """Apply ``records`` (in offset order) if the partition is still at ``expected``.

        When the batch fails for any reason but a fence or a lost connection, it
        runs again isolating every event in a savepoint: an event that still
        fails is parked with its subject (``engine.parking``), the rest commit.
        """
        started = time.perf_counter()
        logged = [parse_record(r) for r in records]
        try:
            result = self._transaction(topic, partition, expected, logged, records, False)
        except PositionMoved:
            raise
        except Exception as error:
            if connection_lost(error):
                raise
            logger.warning(
                "engine batch failed; applying it event by event",
                extra={"partition": partition, "error": type(error).__name__},
            )
            result = self._transaction(topic, partition, expected, logged, records, True)
        if self._keyring is not None and result.destroyed_kids:
            self._keyring.forget(result.destroyed_kids)
        result.elapsed_ms = round((time.perf_counter() - started) * 1e3, 1)
        return result

    def _transaction(
        self,
        topic: str,
        partition: int,
        expected: int | None,
        logged: list[LoggedEvent],
        records: Sequence[LogRecord],
        isolate: bool,
    ) -> BatchResult:
        # Schemas are made committed, apart from the batch (``readmodels.schemas``):
        # the set of those made is shared by the batches of every partition.
        with self._engine.begin() as conn:
            return self._apply(
                conn, topic, partition, expected, logged, records, self._ready_schemas, isolate
            )

    def _apply(
        self,
        conn: Connection,
        topic: str,
        partition: int,
        expected: int | None,
        logged: list[LoggedEvent],
        records: Sequence[LogRecord],
        ready: set[str],
        isolate: bool,
    ) -> BatchResult:
        ENGINE_POSITIONS.lock(conn, topic, partition, expected)
        context = PartitionContext.load(conn, topic, partition)
        fresh = drop_applied(conn, topic, partition, logged)
        subjects = {e.subject for e in fresh if e.subject}
        states, held = load_subjects(conn, topic, partition, subjects)
        scope = BatchScope(
            conn, context, self.policies, self.registry, self.settings, states, ready
        )
        by_type = {
            kind: {e.subject for e in fresh if e.subject and e.event.type == kind}
            for kind in (GRANTED, RECTIFIED)
        }
        prefetch(scope, by_type[GRANTED], by_type[RECTIFIED])
        parking = Parking(scope, Applier(scope), held, isolate=isolate)
        done = [event for event in fresh if parking.apply(event)]
        with pipelined(conn):  # the batch's writes go out together
            save(conn, topic, partition, done, scope.states)
            scope.write_collected()
        scope.try_dropped()
        batch = [(event, record.value) for event, record in zip(logged, records, strict=True)]
        applied = {event.offset for event in fresh}
        record_batch(
            conn, topic, partition, batch, applied, scope.refused, scope.delivered, parking.offsets
        )
        next_offset = logged[-1].offset + 1 if logged else (expected or 0)
        ENGINE_POSITIONS.advance(conn, topic, partition, expected, next_offset)
        scope.counts["applied"] += len(done)
        scope.counts["duplicates"] += len(logged) - len(fresh)
        return BatchResult(next_offset, scope.counts, scope.destroyed_kids)


def drop_applied(
    conn: Connection, topic: str, partition: int, logged: list[LoggedEvent]
) -> list[LoggedEvent]:
    """``logged`` without the events applied before (or earlier in the list).

    One index probe per event (``LATERAL ... LIMIT 1``): a semi-join would scan
    the partition's every applied event whenever the table's statistics are
    stale, as they are while a replay fills a fresh database.
    """
    refs = [(e.event.source, e.event.id) for e in logged]
    rows = conn.execute(
        text(
            "SELECT r.source, r.event_id"
            " FROM unnest(CAST(:s AS text[]), CAST(:i AS text[])) AS r(source, event_id)"
            " CROSS JOIN LATERAL (SELECT 1 FROM haven_core.applied_events AS a"
            " WHERE a.topic = :t AND a.partition = :p AND a.source = r.source"
            " AND a.event_id = r.event_id LIMIT 1) AS hit"
        ),
        {"t": topic, "p": partition, "s": [s for s, _ in refs], "i": [i for _, i in refs]},
    )
    seen = {(row[0], row[1]) for row in rows}
    fresh = []
    for event, ref in zip(logged, refs, strict=True):
        if ref not in seen:
            seen.add(ref)
            fresh.append(event)
    return fresh


_SUBJECTS = text(
    "SELECT subject_id, state, false FROM haven_core.subject_states WHERE subject_id = ANY(:s)"
    " UNION ALL (SELECT DISTINCT subject_id, NULL::jsonb, true FROM haven_core.parked_events"
    " WHERE topic = :t AND partition = :p AND subject_id = ANY(:s))"
)


def load_subjects(
    conn: Connection, topic: str, partition: int, subjects: set[str]
) -> tuple[dict[str, SubjectState], set[str]]:
    """The stored states of ``subjects``, and which of them have events parked in
    ``topic[partition]`` (``engine.parking``), in one round trip."""
    if not subjects:
        return {}, set()
    states: dict[str, SubjectState] = {}
    parked: set[str] = set()
    params = {"s": sorted(subjects), "t": topic, "p": partition}
    for subject, state, is_parked in conn.execute(_SUBJECTS, params):
        if is_parked:
            parked.add(subject)
        else:
            states[subject] = SubjectState.from_json(state)
    return states, parked


def save(
    conn: Connection,
    topic: str,
    partition: int,
    fresh: list[LoggedEvent],
    states: dict[str, SubjectState],
) -> None:
    """Record ``fresh`` as applied and store the subject states."""
    applied = [(topic, partition, e.event.source, e.event.id) for e in fresh]
    bulk_insert(conn, "haven_core.applied_events", APPLIED, applied, "ON CONFLICT DO NOTHING")
    rows = [(subject, state.to_json()) for subject, state in states.items() if subject]
    bulk_insert(conn, "haven_core.subject_states", STATES, rows, STATES_UPSERT)
