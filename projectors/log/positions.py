"""Where each reader of a topic stands: one store for the sealer's and the engine's positions.

A position is the next offset to read of one ``(topic, partition)``, kept in
Postgres (``haven_core.sealer_positions`` for inboxes, ``engine_positions``
for the log) and advanced in the same transaction as the work it covers, so
Kafka's committed offsets are never trusted.  Advances are fenced: a worker
moves a position only from where it found it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, text

from infra.db import Statement

Reader = Literal["sealer", "engine"]
#: ``(topic, partition, expected, next_offset)``: one position to advance.
Move = tuple[str, int, int | None, int]

_MOVE = (
    "UPDATE {table} AS s SET next_offset = m.n, updated_at = now()"
    " FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:e AS bigint[]),"
    " CAST(:n AS bigint[])) AS m(t, p, e, n)"
    " WHERE s.topic = m.t AND s.partition = m.p AND s.next_offset = m.e"
)
_FIRST = (
    "INSERT INTO {table} (topic, partition, next_offset)"
    " SELECT t, p, n FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]),"
    " CAST(:n AS bigint[])) AS m(t, p, n) ORDER BY t, p ON CONFLICT DO NOTHING"
)


class PositionMoved(RuntimeError):
    """Another worker advanced a partition this worker was processing (fencing)."""


class PositionStore:
    """The positions of one reader (``sealer`` or ``engine``); every call takes a connection."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.table = f"haven_core.{reader}_positions"

    def read(
        self, conn: Connection, topic: str | None = None, partitions: Iterable[int] | None = None
    ) -> dict[tuple[str, int], int]:
        """Stored next offsets, of one topic (and some partitions) or of all."""
        sql = f"SELECT topic, partition, next_offset FROM {self.table} WHERE true"  # noqa: S608
        params: dict[str, object] = {}
        if topic is not None:
            sql += " AND topic = :t"
            params["t"] = topic
        if partitions is not None:
            sql += " AND partition = ANY(:p)"
            params["p"] = list(partitions)
        return {(row[0], row[1]): row[2] for row in conn.execute(text(sql), params)}

    def read_pairs(
        self, conn: Connection, pairs: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Stored next offsets of the given ``(topic, partition)`` pairs."""
        wanted = list(pairs)
        if not wanted:
            return {}
        rows = conn.execute(
            text(
                f"SELECT topic, partition, next_offset FROM {self.table}"  # noqa: S608
                " WHERE (topic, partition) IN"
                " (SELECT * FROM unnest(CAST(:topics AS text[]), CAST(:parts AS int[])))"
            ),
            {"topics": [t for t, _ in wanted], "parts": [p for _, p in wanted]},
        )
        return {(row[0], row[1]): row[2] for row in rows}

    def total(self, conn: Connection) -> int:
        """The sum of every stored next offset (records read, for metrics)."""
        sql = f"SELECT COALESCE(sum(next_offset), 0) FROM {self.table}"  # noqa: S608
        return int(conn.execute(text(sql)).scalar_one())

    def fence(self, topic: str, partition: int) -> list[Statement]:
        """The partition's fence, to send with other reads (``infra.db.read_together``):
        its advisory lock (held to the end of the transaction), then its stored
        position; :meth:`check` judges the answers."""
        params = {"t": topic, "p": partition}
        position = f"SELECT next_offset FROM {self.table}"  # noqa: S608
        return [
            ("SELECT pg_advisory_xact_lock(hashtext(%(t)s), %(p)s)", params),
            (position + " WHERE topic = %(t)s AND partition = %(p)s", params),
        ]

    def check(
        self,
        answers: Sequence[list[tuple[Any, ...]]],
        topic: str,
        partition: int,
        expected: int | None,
    ) -> None:
        """Raise :class:`PositionMoved` unless the :meth:`fence` answers say ``expected``."""
        position = answers[1]
        stored = position[0][0] if position else None
        if stored != expected:
            raise PositionMoved(
                f"{topic}[{partition}] is at {stored}, this worker expected {expected}"
            )

    def advance(
        self, conn: Connection, topic: str, partition: int, expected: int | None, next_offset: int
    ) -> None:
        """Move the position from ``expected`` to ``next_offset``, or raise :class:`PositionMoved`.

        Without the advisory lock, the move is conditional on the stored value; under
        it (:meth:`fence` was read in this transaction) the condition always holds.
        """
        self.advance_many(conn, [(topic, partition, expected, next_offset)])

    def advance_many(self, conn: Connection, moves: Iterable[Move]) -> None:
        """:meth:`advance` for many ``(topic, partition, expected, next_offset)`` at once, with
        one statement for the moves and one for the first positions; all or
        :class:`PositionMoved`.  Rows are taken in ``(topic, partition)`` order."""
        moving: list[Move] = []
        first: list[Move] = []
        for move in sorted(moves, key=lambda m: (m[0], m[1])):
            (first if move[2] is None else moving).append(move)
        for rows, sql in ((moving, _MOVE), (first, _FIRST)):
            if not rows:
                continue
            params = {"t": [r[0] for r in rows], "p": [r[1] for r in rows]}
            params |= {"e": [r[2] for r in rows], "n": [r[3] for r in rows]}
            if conn.execute(text(sql.format(table=self.table)), params).rowcount != len(rows):
                named = ", ".join(f"{r[0]}[{r[1]}]" for r in rows)
                raise PositionMoved(f"{named}: one or more moved under this worker")

    def forget(self, conn: Connection, topics: Iterable[str]) -> int:
        """Drop the positions of ``topics`` (their records are gone: start again at 0)."""
        sql = f"DELETE FROM {self.table} WHERE topic = ANY(:t)"  # noqa: S608
        return int(conn.execute(text(sql), {"t": list(topics)}).rowcount or 0)


SEALER_POSITIONS = PositionStore("sealer")
ENGINE_POSITIONS = PositionStore("engine")
