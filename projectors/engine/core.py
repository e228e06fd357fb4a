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

from sqlalchemy import Connection, Engine

from infra.bulk import deferring
from infra.collector import collector_paused
from projectors.audit.ledger import chain_batch
from projectors.engine.applied import save
from projectors.engine.apply import Applier
from projectors.engine.batch import BatchScope, EngineSettings
from projectors.engine.closing import Closing
from projectors.engine.context import PolicyBook
from projectors.engine.opening import Opening, open_batches
from projectors.engine.parking import Parking, connection_lost
from projectors.engine.prefetch import prefetch
from projectors.keys.keyring import Keyring
from projectors.log import ENGINE_POSITIONS, LoggedEvent, LogRecord, PositionMoved, parse_record
from projectors.policy.model import Policy
from projectors.readmodels.sdk import ProjectorRegistry

logger = logging.getLogger("haven.engine")


@dataclass
class BatchResult:
    """What one committed batch did."""

    next_offset: int
    counts: Counter[str] = field(default_factory=Counter)
    destroyed_kids: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0


#: One partition's batch: the partition, the position it must be at, its records.
Batch = tuple[int, int | None, Sequence[LogRecord]]
#: What became of one batch: its result, or the error :meth:`EngineCore.apply_batch` raises.
Outcome = BatchResult | Exception


class EngineCore:
    """Applies batches of one partition in one Postgres transaction each, or of several
    partitions in one (:meth:`apply_together`)."""

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
        outcome = self.apply_together(topic, [(partition, expected, records)])[partition]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def apply_together(self, topic: str, batches: Sequence[Batch]) -> dict[int, Outcome]:
        """Apply batches of several partitions (each as :meth:`apply_batch` would) in one
        transaction, their read-model rows written together; by partition, its result
        or what :meth:`apply_batch` would have raised.

        Partitions are independent (a subject's events are in one), so this commits
        what separate transactions would, with fewer statements.  When anything
        fails, nothing of it stays and each batch is applied alone instead (a fence,
        a poison event or an outage then touch only their own partition).  Partitions
        are locked in ascending order, as every engine process does.

        Batches that failed on a lost connection are tried once more at once: the
        pool checks no connection before use (a round trip per transaction), so a
        connection Postgres dropped while it was idle (a restart) fails its first
        transaction, and the pool has replaced its connections by then.
        """
        with collector_paused():
            outcomes = self._apply_all(topic, batches)
        lost = [b for b in batches if _lost(outcomes.get(b[0]))]
        if lost:
            logger.warning(
                "engine lost its database connection; applying the batches once more",
                extra={"partitions": len(lost)},
            )
            outcomes |= self._apply_all(topic, lost)
        return outcomes

    def _apply_all(self, topic: str, batches: Sequence[Batch]) -> dict[int, Outcome]:
        started = time.perf_counter()
        outcomes: dict[int, Outcome] = {}
        parsed: list[tuple[Batch, list[LoggedEvent]]] = []
        for batch in sorted(batches, key=lambda b: b[0]):
            try:
                parsed.append((batch, [parse_record(r) for r in batch[2]]))
            except Exception as error:
                outcomes[batch[0]] = error
        together = self._together(topic, parsed) if len(parsed) > 1 else None
        for batch, logged in parsed:
            try:
                result = together[batch[0]] if together else self._alone(topic, batch, logged)
                outcomes[batch[0]] = self._finish(result, started)
            except Exception as error:
                outcomes[batch[0]] = error
        return outcomes

    def _together(
        self, topic: str, parsed: list[tuple[Batch, list[LoggedEvent]]]
    ) -> dict[int, BatchResult] | None:
        closing = Closing(topic)
        try:
            with self._engine.begin() as conn:
                openings = open_batches(conn, topic, [(b[0], b[1], lg) for b, lg in parsed])
                results = {
                    batch[0]: self._apply(conn, topic, batch, logged, openings[batch[0]], closing)
                    for batch, logged in parsed
                }
                closing.write(conn, self.registry)
        except Exception as error:
            logger.warning(
                "engine batches failed together; applying them one partition at a time",
                extra={"partitions": len(parsed), "error": type(error).__name__},
            )
            return None
        return results

    def _alone(self, topic: str, batch: Batch, logged: list[LoggedEvent]) -> BatchResult:
        try:
            return self._transaction(topic, batch, logged, False)
        except PositionMoved:
            raise
        except Exception as error:
            if connection_lost(error):
                raise
            logger.warning(
                "engine batch failed; applying it event by event",
                extra={"partition": batch[0], "error": type(error).__name__},
            )
            return self._transaction(topic, batch, logged, True)

    def _finish(self, result: BatchResult, started: float) -> BatchResult:
        if self._keyring is not None and result.destroyed_kids:
            self._keyring.forget(result.destroyed_kids)
        result.elapsed_ms = round((time.perf_counter() - started) * 1e3, 1)
        return result

    def _transaction(
        self, topic: str, batch: Batch, logged: list[LoggedEvent], isolate: bool
    ) -> BatchResult:
        with self._engine.begin() as conn:
            (opening,) = open_batches(conn, topic, [(batch[0], batch[1], logged)]).values()
            return self._apply(conn, topic, batch, logged, opening, isolate=isolate)

    def _apply(
        self,
        conn: Connection,
        topic: str,
        batch: Batch,
        logged: list[LoggedEvent],
        opening: Opening,
        later: Closing | None = None,
        *,
        isolate: bool = False,
    ) -> BatchResult:
        """One batch in ``conn``'s transaction, locked and read by ``opening``; its
        closing writes go to ``later`` when given (written by the caller,
        ``engine.closing``), else are made here."""
        partition, expected, records = batch
        fresh = opening.fresh
        # Schemas are made committed, apart from the batch (``readmodels.schemas``):
        # the set of those made is shared by the batches of every partition.
        scope = BatchScope(
            conn,
            opening.context,
            self.policies,
            self.registry,
            self.settings,
            opening.states,
            self._ready_schemas,
        )
        prefetch(scope, opening.wanted, opening.prefetched)
        applier = Applier(scope)
        parking = Parking(scope, applier, opening.held, isolate=isolate)
        try:
            done = [event for event in fresh if parking.apply(event)]
        finally:
            applier.close()
        next_offset = logged[-1].offset + 1 if logged else (expected or 0)
        closing = later or Closing(topic)
        with deferring(conn, closing.inserts):
            save(conn, topic, partition, done, scope.states)
            scope.write_collected(closing.rows)
        scope.try_dropped()
        logs = [(event, record.value) for event, record in zip(logged, records, strict=True)]
        applied = {event.offset for event in fresh}
        closing.ledger.append(
            chain_batch(
                topic,
                partition,
                logs,
                applied,
                scope.refused,
                scope.delivered,
                parking.offsets,
                head=opening.head,
            )
        )
        closing.moves.append((topic, partition, expected, next_offset))
        if later is None:
            closing.write(conn, self.registry)
        scope.counts["applied"] += len(done)
        scope.counts["duplicates"] += len(logged) - len(fresh)
        return BatchResult(next_offset, scope.counts, scope.destroyed_kids)


def _lost(outcome: Outcome | None) -> bool:
    return isinstance(outcome, Exception) and connection_lost(outcome)
