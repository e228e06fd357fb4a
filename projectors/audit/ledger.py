"""The audit ledger: one hash-chained entry per log record, written in the batch transaction.

Each entry names the record's partition and offset, the event's id, type,
producing agency, jurisdiction and time, the agencies it reached and the
SHA-256 of the sealed record bytes.  ``entry_hash`` chains the entries of one
partition: ``SHA-256(prev_hash || canonical bytes)``.  Only sealed bytes and
metadata go in, so destroying a subject key never breaks the chain and
checking it needs no personal data (docs/audit.md "The hash chain").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from events.canonical import compact_json
from infra.bulk import Columns, bulk_insert, text_array
from infra.db import Statement, pipelined
from projectors.log import LoggedEvent
from projectors.outbox.sealed import forget_archived

GENESIS = bytes(32)
FORMAT = "haven-audit-v1"


@dataclass(slots=True, unsafe_hash=True)
class LedgerEntry:
    """What one ledger row holds besides its chain hashes.

    Immutable once made.  Slotted and not frozen: the engine makes one per log
    record, and a frozen dataclass of this many fields costs several times more
    to build."""

    topic: str
    partition: int
    offset: int
    event_id: str
    source: str
    event_type: str
    producer: str
    subject_id: str | None
    jurisdiction: str | None
    event_time: datetime
    recipients: tuple[str, ...]
    outcome: str
    record_sha256: bytes

    def canonical(self) -> bytes:
        """The entry's bytes under the chain: a compact JSON array (docs/audit.md)."""
        fields = [
            FORMAT,
            self.topic,
            self.partition,
            self.offset,
            self.event_id,
            self.source,
            self.event_type,
            self.producer,
            self.subject_id,
            self.jurisdiction,
            utc_text(self.event_time),
            sorted(self.recipients),
            self.outcome,
            self.record_sha256.hex(),
        ]
        # orjson's bytes are the standard library's for these values (a property test
        # holds the two to that): old entries still verify.
        return compact_json(fields)


def utc_text(moment: datetime) -> str:
    """A time as hashed: UTC, microseconds, ``+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def chain_hash(prev_hash: bytes, entry: LedgerEntry) -> bytes:
    """``SHA-256(prev_hash || entry.canonical())``."""
    return hashlib.sha256(prev_hash + entry.canonical()).digest()


def record_key(logged: LoggedEvent) -> bytes | None:
    """The record's Kafka key as Haven produces it: the subject id, or none."""
    return None if logged.subject is None else logged.subject.encode()


def entry_for(
    topic: str,
    partition: int,
    logged: LoggedEvent,
    value: bytes,
    outcome: str,
    recipients: Sequence[str],
) -> LedgerEntry:
    """The ledger entry of one log record."""
    event = logged.event
    return LedgerEntry(
        topic=topic,
        partition=partition,
        offset=logged.offset,
        event_id=event.id,
        source=event.source,
        event_type=event.type,
        producer=logged.producer,
        subject_id=logged.subject,
        jurisdiction=event.jurisdiction,
        event_time=event.time,
        recipients=tuple(sorted(set(recipients))),
        outcome=outcome,
        record_sha256=hashlib.sha256(value).digest(),
    )


def head_statement(topic: str, partition: int) -> Statement:
    """The partition's chain head (no row before its first entry), for :func:`chain_batch`."""
    return (
        "SELECT next_offset, head_hash FROM haven_core.audit_heads"
        " WHERE topic = %(t)s AND partition = %(p)s",
        {"t": topic, "p": partition},
    )


@dataclass(frozen=True)
class ChainedBatch:
    """One batch's ledger entries, chained from its partition's head, and its records."""

    partition: int
    entries: list[LedgerEntry]
    links: list[tuple[bytes, bytes]]
    records: Sequence[tuple[LoggedEvent, bytes]]


def chain_batch(
    topic: str,
    partition: int,
    batch: Sequence[tuple[LoggedEvent, bytes]],
    applied: Set[int],
    refused: Set[int],
    delivered: Mapping[int, Sequence[str]],
    parked: Set[int] = frozenset(),
    *,
    head: list[tuple[Any, ...]],
) -> ChainedBatch:
    """The entries of one batch, hashed onto ``head`` (what :func:`head_statement` read
    in this transaction, under the partition's lock).

    ``applied`` holds the offsets that were not duplicates, ``refused`` those
    the engine refused, ``parked`` those it set aside (docs/engine.md),
    ``delivered`` the recipients by offset.
    """
    prev = GENESIS if not head else bytes(head[0][1])
    entries: list[LedgerEntry] = []
    links: list[tuple[bytes, bytes]] = []
    for logged, value in batch:
        outcome = _outcome(logged.offset, applied, refused, parked)
        entry = entry_for(
            topic, partition, logged, value, outcome, delivered.get(logged.offset, ())
        )
        digest = chain_hash(prev, entry)
        entries.append(entry)
        links.append((prev, digest))
        prev = digest
    return ChainedBatch(partition, entries, links, batch)


def write_batches(conn: Connection, topic: str, batches: Sequence[ChainedBatch]) -> None:
    """Write chained batches of ``topic`` (of different partitions): their entries, their
    records into the archive, the new chain heads; drop the records from the sealed
    outbox.  Four statements, one round trip, however many partitions."""
    batches = [b for b in batches if b.entries]
    if not batches:
        return
    with pipelined(conn):
        _insert_entries(
            conn, [e for b in batches for e in b.entries], [k for b in batches for k in b.links]
        )
        _insert_archive(conn, topic, batches)
        # Archived now: the sealed outbox no longer needs to hold these records.
        forget_archived(
            conn,
            [(logged.event.source, logged.event.id) for b in batches for logged, _ in b.records],
        )
        conn.exec_driver_sql(
            _HEADS,
            {
                "t": topic,
                "p": [b.partition for b in batches],
                "f": [b.entries[0].offset for b in batches],
                "n": [b.entries[-1].offset + 1 for b in batches],
                "h": [b.links[-1][1] for b in batches],
            },
        )


_HEADS = (
    "INSERT INTO haven_core.audit_heads (topic, partition, first_offset, next_offset, head_hash)"
    " SELECT %(t)s, p, f, n, h"
    " FROM unnest(%(p)s::int[], %(f)s::bigint[], %(n)s::bigint[], %(h)s::bytea[]) AS u(p, f, n, h)"
    " ON CONFLICT (topic, partition) DO UPDATE"
    " SET next_offset = EXCLUDED.next_offset, head_hash = EXCLUDED.head_hash, updated_at = now()"
)


def _outcome(offset: int, applied: Set[int], refused: Set[int], parked: Set[int]) -> str:
    if offset not in applied:
        return "duplicate"
    if offset in parked:
        return "parked"
    return "refused" if offset in refused else "applied"


LEDGER_COLUMNS: Columns = (
    ("topic", "text"),
    ("partition", "int"),
    ("log_offset", "bigint"),
    ("event_id", "text"),
    ("source", "text"),
    ("event_type", "text"),
    ("producer", "text"),
    ("subject_id", "text"),
    ("jurisdiction", "text"),
    ("event_time", "timestamptz"),
    ("recipients", "text[]"),
    ("outcome", "text"),
    ("record_sha256", "bytea"),
    ("prev_hash", "bytea"),
    ("entry_hash", "bytea"),
)


def _insert_entries(
    conn: Connection, entries: list[LedgerEntry], links: list[tuple[bytes, bytes]]
) -> None:
    rows = [
        (
            e.topic,
            e.partition,
            e.offset,
            e.event_id,
            e.source,
            e.event_type,
            e.producer,
            e.subject_id,
            e.jurisdiction,
            e.event_time,
            text_array(e.recipients),
            e.outcome,
            e.record_sha256,
            prev,
            digest,
        )
        for e, (prev, digest) in zip(entries, links, strict=True)
    ]
    bulk_insert(conn, "haven_core.audit_ledger", LEDGER_COLUMNS, rows)


#: The records go as binary arrays (``%(x)b``), not as hex inside JSON: the
#: archive is most of what a batch sends.
_ARCHIVE = (
    "INSERT INTO haven_core.log_archive (topic, partition, log_offset, record_key, record_value)"
    " SELECT %(t)s, p, o, k, v"
    " FROM unnest(%(p)b::int[], %(o)b::bigint[], %(k)b::bytea[], %(v)b::bytea[])"
    " WITH ORDINALITY AS a(p, o, k, v, n) ORDER BY n"
)


def _insert_archive(conn: Connection, topic: str, batches: Sequence[ChainedBatch]) -> None:
    records = [(b.partition, e, value) for b in batches for e, value in b.records]
    if records:
        arrays = {
            "p": [p for p, _, _ in records],
            "o": [e.offset for _, e, _ in records],
            "k": [record_key(e) for _, e, _ in records],
            "v": [value for _, _, value in records],
        }
        conn.exec_driver_sql(_ARCHIVE, {"t": topic} | arrays)
