"""Records the sealer just committed, kept for the relay so it need not read them back.

The relay produces the sealed outbox in sequence order and reads which rows
are pending from Postgres; the values of rows this sealer committed come
from here instead of being read back (projectors/outbox/sealed_store.py).
Bounded by bytes: the oldest records go first, and the relay then reads
their values from the table, as it does for the gateway's rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from projectors.outbox.sealed import EventRef, SealedRecord
from projectors.outbox.sealed_store import Record

#: At most this many value bytes are kept.
KNOWN_MAX_BYTES = 64 * 2**20


class KnownRecords(dict[EventRef, Record]):
    """``(source, id)`` to the key and value of recently committed records, oldest first."""

    def __init__(self, max_bytes: int = KNOWN_MAX_BYTES) -> None:
        super().__init__()
        self._max_bytes = max_bytes
        self._bytes = 0

    def remember(self, records: Iterable[SealedRecord]) -> None:
        """Keep these committed records (dropping the oldest beyond the bound)."""
        for record in records:
            if record.ref not in self:
                self[record.ref] = (record.key, record.value)
                self._bytes += len(record.value)
        while self._bytes > self._max_bytes and self:
            self.forget([next(iter(self))])

    def forget(self, refs: Iterable[EventRef]) -> None:
        """Drop these records (produced and acknowledged)."""
        for ref in refs:
            record = self.pop(ref, None)
            if record is not None:
                self._bytes -= len(record[1])
