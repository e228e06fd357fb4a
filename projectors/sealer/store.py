"""The sealer's Postgres state: positions, de-duplication and known agencies.

All methods block; the sealer calls them through ``asyncio.to_thread`` so the
event loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from projectors.log import SEALER_POSITIONS

EventRef = tuple[str, str]  # (source, id)


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


def count_rejections(conn: Connection, source: str, counts: Mapping[str, int]) -> None:
    """Add refusals by reason to ``haven_core.rejection_counts`` (the sealer, the gateway)."""
    conn.execute(_COUNT_REJECTIONS, [{"s": source, "r": r, "n": n} for r, n in counts.items()])


class SealerStore:
    """Blocking data access for the sealer."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

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
            rows = conn.execute(
                text(
                    "SELECT source, event_id FROM haven_core.sealed_events"
                    " WHERE (source, event_id) IN"
                    " (SELECT * FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])))"
                ),
                {"sources": [s for s, _ in pairs], "ids": [i for _, i in pairs]},
            )
            return {(row[0], row[1]) for row in rows}

    def commit_batch(
        self,
        sealed: Iterable[EventRef],
        advances: Iterable[PositionAdvance],
        rejections: Mapping[str, int] | None = None,
    ) -> None:
        """Record sealed events, rejection counts and positions in one transaction (fenced)."""
        refs = list(sealed)
        with self._engine.begin() as conn:
            if rejections:
                count_rejections(conn, "sealer", rejections)
            if refs:
                conn.execute(
                    text(
                        "INSERT INTO haven_core.sealed_events (source, event_id)"
                        " SELECT * FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[]))"
                        " ON CONFLICT DO NOTHING"
                    ),
                    {"sources": [s for s, _ in refs], "ids": [i for _, i in refs]},
                )
            for a in advances:
                SEALER_POSITIONS.advance(conn, a.topic, a.partition, a.expected, a.next_offset)
