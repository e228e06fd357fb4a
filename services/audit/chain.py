"""Walking one partition's hash chain and naming the first entry that does not hold.

Pure: rows in, a :class:`Finding` (or None) out.  :mod:`services.audit.verify`
reads the rows from Postgres in offset order and feeds them here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from projectors.audit.ledger import GENESIS, LedgerEntry, chain_hash

#: How far from its position a displaced entry is looked for (reordering, shifts).
WINDOW = 64


@dataclass(frozen=True)
class Finding:
    """One thing that does not hold, at an exact position."""

    topic: str
    partition: int
    offset: int
    kind: str  # modified, missing, inserted, reordered, archive_*, log_*
    detail: str

    def to_json(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "kind": self.kind,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class LedgerRow:
    """One stored ledger row."""

    entry: LedgerEntry
    prev_hash: bytes
    entry_hash: bytes

    @classmethod
    def from_db(cls, topic: str, partition: int, row: tuple[object, ...]) -> LedgerRow:
        """From ``offset, event_id, source, type, producer, subject, jurisdiction, time,
        recipients, outcome, record_sha256, prev_hash, entry_hash``."""
        off, eid, src, typ, prod, subj, jur, when, rec, outcome, rsha, prev, digest = row
        assert isinstance(when, datetime)
        entry = LedgerEntry(
            topic=topic,
            partition=partition,
            offset=int(str(off)),
            event_id=str(eid),
            source=str(src),
            event_type=str(typ),
            producer=str(prod),
            subject_id=None if subj is None else str(subj),
            jurisdiction=None if jur is None else str(jur),
            event_time=when,
            recipients=tuple(str(r) for r in rec) if isinstance(rec, list) else (),
            outcome=str(outcome),
            record_sha256=bytes(rsha) if isinstance(rsha, bytes | memoryview) else b"",
        )
        return cls(entry, _bytes(prev), _bytes(digest))

    def consistent(self) -> bool:
        """Its own hash matches its content and stored link."""
        return chain_hash(self.prev_hash, self.entry) == self.entry_hash

    def offset_that_fits(self) -> int | None:
        """The nearby offset under which the entry's hash holds (it was moved there)."""
        offset = self.entry.offset
        for delta in range(1, WINDOW + 1):
            for candidate in (offset + delta, offset - delta):
                moved = replace(self.entry, offset=candidate)
                if candidate >= 0 and chain_hash(self.prev_hash, moved) == self.entry_hash:
                    return candidate
        return None


def _bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else b""


class ChainWalk:
    """Checks the rows of one partition in offset order; keeps the first finding."""

    def __init__(
        self,
        topic: str,
        partition: int,
        first_offset: int,
        hash_exists: Callable[[bytes], bool],
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.expected_offset = first_offset
        self.prev = GENESIS
        self.entries = 0
        self.finding: Finding | None = None
        self._hash_exists = hash_exists
        self._last: LedgerRow | None = None

    def _found(self, offset: int, kind: str, detail: str) -> None:
        if self.finding is None:
            self.finding = Finding(self.topic, self.partition, offset, kind, detail)

    def gap(self, offset: int) -> None:
        """An archived record at ``offset`` has no ledger entry."""
        self._found(offset, "missing", "the ledger has no entry for this archived record")

    def feed(self, row: LedgerRow) -> None:
        """Check the next row (rows come in offset order)."""
        self.entries += 1
        if self.finding is not None:
            return
        offset = row.entry.offset
        if offset > self.expected_offset:
            self._found(
                self.expected_offset,
                "missing",
                f"entries {self.expected_offset}..{offset - 1} are absent",
            )
            return
        if not row.consistent():
            self._inconsistent(row)
            return
        if row.prev_hash != self.prev:
            previous = self.expected_offset - 1
            self._found(
                previous,
                "modified",
                "this entry's hash was rewritten: it no longer matches the next entry's link",
            )
            return
        self.prev = row.entry_hash
        self.expected_offset = offset + 1
        self._last = row

    def _inconsistent(self, row: LedgerRow) -> None:
        offset = row.entry.offset
        fits = row.offset_that_fits()
        if fits is None:
            self._found(offset, "modified", "the entry's content does not match its hash")
        elif fits < offset:
            self._found(
                fits,
                "inserted",
                f"an entry was inserted at {fits}: the entry of offset {fits} sits at {offset}",
            )
        elif self._hash_exists(row.prev_hash):
            self._found(offset, "reordered", f"the entry of offset {fits} sits at offset {offset}")
        else:
            self._found(
                offset,
                "missing",
                f"the entry of offset {offset} was removed and later entries moved up",
            )

    def finish(self, head_next: int | None, head_hash: bytes | None) -> None:
        """Check the tail against the partition's anchor (``audit_heads``)."""
        if self.finding is not None or head_next is None:
            return
        if self.expected_offset > head_next:
            self._found(
                head_next,
                "inserted",
                f"entries {head_next}..{self.expected_offset - 1} lie beyond the anchored head",
            )
        elif self.expected_offset < head_next:
            self._found(
                self.expected_offset,
                "missing",
                f"entries {self.expected_offset}..{head_next - 1} are absent at the tail",
            )
        elif head_hash is not None and self.prev != head_hash:
            self._found(
                self.expected_offset - 1, "modified", "the last entry's hash differs from the head"
            )
