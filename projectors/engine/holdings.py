"""What each agency holds of a subject: one row per delivered log event.

Every delivery (live, shared by a grant, rebuilt after an erasure) is
recorded with its fields and bases in ``haven_core.holdings``; an erasure
drops the agency's rows and the rebuild puts back what the law keeps.  A
grant reads it so that no event is shared twice, a rectification to find
every agency that received its target, a disclosure to tell who holds what.

Rows are collected in memory and written with one statement when the batch
ends or before anything reads them (:meth:`HoldingsBuffer.flush`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from infra.bulk import Columns, bulk_insert, text_array
from infra.db import Statement, read_together

Key = tuple[str, str, str, int, int]  # subject, agency, topic, partition, offset
COLUMNS: Columns = (
    ("subject_id", "text"),
    ("agency_id", "text"),
    ("topic", "text"),
    ("partition", "int"),
    ("log_offset", "bigint"),
    ("event_id", "text"),
    ("event_type", "text"),
    ("fields", "text[]"),
    ("bases", "text[]"),
    ("held_since", "timestamptz"),
)
UPSERT = (
    "ON CONFLICT (subject_id, agency_id, topic, partition, log_offset) DO UPDATE"
    " SET fields = EXCLUDED.fields, bases = EXCLUDED.bases"
)


@dataclass(slots=True, unsafe_hash=True)
class Holding:
    """One event an agency holds, with the fields and bases it holds it by.

    Immutable once made (changed copies come from ``dataclasses.replace``).  Slotted
    and not frozen: the engine makes one per delivery, and a frozen dataclass
    costs about five times more to build (1.1 against 0.2 us).
    """

    subject_id: str
    agency_id: str
    topic: str
    partition: int
    offset: int
    event_id: str
    event_type: str
    fields: frozenset[str]
    bases: frozenset[str]
    held_since: datetime

    @property
    def key(self) -> Key:
        """The row's primary key."""
        return (self.subject_id, self.agency_id, self.topic, self.partition, self.offset)


@dataclass
class HoldingsBuffer:
    """Holdings written in this batch but not yet flushed to Postgres."""

    #: By subject: an erasure or a retraction looks at its subject's alone (a batch of
    #: thousands of events holds thousands of pending holdings).
    pending: dict[str, dict[Key, Holding]] = field(default_factory=dict)
    #: Subjects read whole by :meth:`load`: what :meth:`held` would read now, each
    #: holding with whether it is stored (a stored one keeps all but its fields and
    #: bases when added again, as the upsert does).
    known: dict[str, dict[Key, tuple[Holding, bool]]] = field(default_factory=dict)
    #: The topic and partition :meth:`load` read.
    place: tuple[str, int] | None = None
    #: ``(subject, agency)`` pairs whose stored holdings :meth:`drop` deletes at the
    #: next :meth:`flush`, before its inserts (which then only hold later ones).
    dropped: set[tuple[str, str]] = field(default_factory=set)

    def add(self, holding: Holding) -> None:
        """Record (or replace) one holding."""
        key = holding.key
        self.pending.setdefault(holding.subject_id, {})[key] = holding
        mirror = self.known.get(holding.subject_id)
        if mirror is not None:
            old = mirror.get(key)
            if old is not None and old[1]:
                holding = replace(old[0], fields=holding.fields, bases=holding.bases)
            mirror[key] = (holding, old is not None and old[1])

    def load(self, subjects: list[str], topic: str, partition: int, stored: list[Holding]) -> None:
        """Take the stored holdings of ``subjects`` that :func:`holdings_statement` read when
        the batch opened (nothing pending yet); :meth:`held` then answers from memory."""
        self.known.update({subject: {} for subject in subjects})
        self.place = (topic, partition)
        for holding in stored:
            self.known[holding.subject_id][holding.key] = (holding, True)

    def clear(self) -> None:
        """Forget what is pending and every subject read (their rows may be rolled back)."""
        self.pending.clear()
        self.known.clear()
        self.dropped.clear()

    def flush(self, conn: Connection) -> None:
        """Delete what :meth:`drop` dropped, then write every pending holding (a
        statement each)."""
        if self.dropped:
            pairs, self.dropped = sorted(self.dropped), set()
            conn.execute(_DROP, {"s": [s for s, _ in pairs], "a": [a for _, a in pairs]})
        for subject, held in self.pending.items():
            mirror = self.known.get(subject, {})
            for key in mirror.keys() & held.keys():
                mirror[key] = (mirror[key][0], True)
        rows = [
            (
                h.subject_id,
                h.agency_id,
                h.topic,
                h.partition,
                h.offset,
                h.event_id,
                h.event_type,
                text_array(h.fields),
                text_array(h.bases),
                h.held_since,
            )
            for held in self.pending.values()
            for h in held.values()
        ]
        self.pending.clear()
        if rows:
            bulk_insert(conn, "haven_core.holdings", COLUMNS, rows, UPSERT)

    def drop(self, subject_id: str, agency_ids: list[str]) -> None:
        """The agencies hold nothing of the subject any more (an erasure): forgotten
        here at once, deleted from Postgres at the next :meth:`flush` (every read of
        stored holdings flushes first)."""
        agencies = set(agency_ids)
        if not agencies:
            return
        held = self.pending.get(subject_id, {})
        for key in [k for k in held if k[1] in agencies]:
            del held[key]
        mirror = self.known.get(subject_id, {})
        for key in [k for k in mirror if k[1] in agencies]:
            del mirror[key]
        self.dropped.update((subject_id, agency) for agency in agencies)

    def forget_event(
        self, conn: Connection, subject_id: str, topic: str, partition: int, offset: int
    ) -> None:
        """Nobody holds this event any more (a retraction)."""
        held = self.pending.get(subject_id, {})
        for key in [k for k in held if k[2:] == (topic, partition, offset)]:
            del held[key]
        mirror = self.known.get(subject_id, {})
        for key in [k for k in mirror if k[2:] == (topic, partition, offset)]:
            del mirror[key]
        conn.execute(
            text(
                "DELETE FROM haven_core.holdings WHERE subject_id = :s AND topic = :t"
                " AND partition = :p AND log_offset = :o"
            ),
            {"s": subject_id, "t": topic, "p": partition, "o": offset},
        )

    def held(self, conn: Connection, subject_id: str, topic: str, partition: int) -> list[Holding]:
        """Every holding of the subject on this partition, by agency and offset."""
        mirror = self.known.get(subject_id)
        if mirror is not None and self.place == (topic, partition):
            return [mirror[key][0] for key in sorted(mirror, key=lambda k: (k[1], k[4]))]
        self.flush(conn)
        return _select(conn, [subject_id], topic, partition)


_DROP = text(
    "DELETE FROM haven_core.holdings AS h USING unnest(CAST(:s AS text[]), CAST(:a AS text[]))"
    " AS d(s, a) WHERE h.subject_id = d.s AND h.agency_id = d.a"
)


def holdings_statement(subjects: list[str], topic: str, partition: int) -> Statement:
    """The stored holdings of ``subjects`` in ``topic[partition]`` (:func:`holdings_from`)."""
    return (
        "SELECT subject_id, agency_id, topic, partition, log_offset, event_id, event_type,"
        " fields, bases, held_since FROM haven_core.holdings"
        " WHERE subject_id = ANY(%(s)b) AND topic = %(t)s AND partition = %(p)s"
        " ORDER BY agency_id, log_offset",
        {"s": subjects, "t": topic, "p": partition},
    )


def holdings_from(rows: Sequence[Sequence[Any]]) -> list[Holding]:
    """The holdings :func:`holdings_statement` read."""
    return [
        Holding(r[0], r[1], r[2], r[3], r[4], r[5], r[6], frozenset(r[7]), frozenset(r[8]), r[9])
        for r in rows
    ]


def _select(conn: Connection, subjects: list[str], topic: str, partition: int) -> list[Holding]:
    (rows,) = read_together(conn, [holdings_statement(subjects, topic, partition)])
    return holdings_from(rows)
