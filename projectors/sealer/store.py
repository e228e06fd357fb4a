"""The sealer's Postgres state: positions, de-duplication, the outbox and known agencies.

All methods block; the sealer calls them through ``asyncio.to_thread`` so the
event loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from projectors.log import SEALER_POSITIONS
from projectors.outbox.sealed import EventRef, SealedRecord, stage_sealed
from projectors.sealer.dlq import DeadLetterRow


@dataclass(frozen=True)
class PositionAdvance:
    """Move one inbox partition from ``expected`` to ``next_offset``."""

    topic: str
    partition: int
    expected: int | None
    next_offset: int


_COUNT_REJECTIONS = text(
    "INSERT INTO haven_core.rejection_counts (source, reason, count) VALUES (:s, :r, :n)"
    " ON CONFLICT (source, reason) DO UPDATE"
    " SET count = haven_core.rejection_counts.count + EXCLUDED.count"
)


_DEAD_LETTER = text(
    "INSERT INTO haven_core.dead_letters (agency_id, source_topic, source_partition,"
    " source_offset, reason, errors, size_bytes, received_at)"
    " VALUES (:a, :t, :p, :o, :r, CAST(:e AS jsonb), :n, :at)"
)


def count_rejections(conn: Connection, source: str, counts: Mapping[str, int]) -> None:
    """Add refusals by reason to ``haven_core.rejection_counts`` (the sealer, the gateway)."""
    conn.execute(_COUNT_REJECTIONS, [{"s": source, "r": r, "n": n} for r, n in counts.items()])


class SealerStore:
    """Blocking data access for the sealer."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The database the sealer's state lives in (the relay's outbox too)."""
        return self._engine

    def registered_agencies(self) -> frozenset[str]:
        """Ids of every registered agency."""
        with self._engine.connect() as conn:
            return frozenset(
                row[0] for row in conn.execute(text("SELECT id FROM haven_core.agencies"))
            )

    def positions(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Stored next offsets of the given inbox partitions (missing = never sealed)."""
        with self._engine.connect() as conn:
            return SEALER_POSITIONS.read_pairs(conn, partitions)

    def already_sealed(self, refs: Iterable[EventRef]) -> set[EventRef]:
        """Which of ``refs`` were sealed before."""
        pairs = list(set(refs))
        if not pairs:
            return set()
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(  # binary arrays: see stage_sealed
                "SELECT source, event_id FROM haven_core.sealed_events"
                " WHERE (source, event_id) IN"
                " (SELECT * FROM unnest(%(s)b::text[], %(i)b::text[]))",
                {"s": [s for s, _ in pairs], "i": [i for _, i in pairs]},
            )
            return {(row[0], row[1]) for row in rows}

    def commit_batch(
        self,
        sealed: Sequence[SealedRecord],
        advances: Iterable[PositionAdvance],
        rejections: Mapping[str, int] | None = None,
        dead_letters: Iterable[DeadLetterRow] = (),
        fresh: list[SealedRecord] | None = None,
    ) -> int:
        """Sealed records with their marks, rejection counts, each agency's dead-letter rows
        and positions: one transaction.

        Fenced by the positions.  Returns how many records were new (a record
        whose ``(source, id)`` was sealed before is dropped here); ``fresh``, if
        given, receives them.
        """
        with self._engine.begin() as conn:
            if rejections:
                count_rejections(conn, "sealer", rejections)
            dead = [row.params() for row in dead_letters]
            if dead:
                conn.execute(_DEAD_LETTER, dead)
            staged = stage_sealed(conn, sealed, notify=False)  # the pipeline wakes its relay
            SEALER_POSITIONS.advance_many(
                conn, ((a.topic, a.partition, a.expected, a.next_offset) for a in advances)
            )
        if fresh is not None:
            fresh.extend(staged)
        return len(staged)


__all__ = ["EventRef", "PositionAdvance", "SealerStore", "count_rejections"]
