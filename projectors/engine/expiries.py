"""Grant expiries (``haven_core.consent_expiries``), collected and written with the batch.

A grant with ``expires_at`` schedules its expiry, a withdrawal that ends
grants forgets theirs.  Nothing in the batch reads the table (the scheduler
does, once the batch commits), so only each grant's last word is written,
when the batch is written: one ``DELETE`` and one upsert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from infra.bulk import Columns, bulk_insert

COLUMNS: Columns = (("subject_id", "text"), ("consent_id", "text"), ("expires_at", "timestamptz"))
UPSERT = (
    "ON CONFLICT (subject_id, consent_id)"
    " DO UPDATE SET expires_at = EXCLUDED.expires_at, emitted_at = NULL"
)
FORGET = text(
    "DELETE FROM haven_core.consent_expiries WHERE (subject_id, consent_id) IN"
    " (SELECT * FROM unnest(CAST(:s AS text[]), CAST(:c AS text[])))"
)


@dataclass
class Expiries:
    """Per (subject, consent id): the expiry to store, or None to forget it."""

    pending: dict[tuple[str, str], datetime | None] = field(default_factory=dict)

    def schedule(self, subject: str, consent_id: str, expires_at: datetime) -> None:
        """The grant expires then (again not emitted)."""
        self.pending[(subject, consent_id)] = expires_at

    def forget(self, subject: str, consent_ids: tuple[str, ...]) -> None:
        """These grants ended: no expiry to emit."""
        for consent_id in consent_ids:
            self.pending[(subject, consent_id)] = None

    def flush(self, conn: Connection) -> None:
        """Write what is pending: the forgotten ones, then the scheduled ones."""
        waiting, self.pending = self.pending, {}
        gone = [key for key, at in waiting.items() if at is None]
        if gone:
            conn.execute(FORGET, {"s": [s for s, _ in gone], "c": [c for _, c in gone]})
        kept = [(s, c, at) for (s, c), at in waiting.items() if at is not None]
        bulk_insert(conn, "haven_core.consent_expiries", COLUMNS, kept, UPSERT)
