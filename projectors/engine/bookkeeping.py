"""The engine's own records of a batch, collected and written one statement per table.

Refusals, retained rule-3 deliveries, erasure and grant receipts, notices
and consent records are only written during a batch, never read back before
the next flush (``BatchScope.flush``, which runs before anything reads them
and when the batch ends), so they wait in memory in log order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from infra.bulk import Columns, bulk_insert


@dataclass(frozen=True)
class Book:
    """One table the engine appends to: its columns and what a repeated key does."""

    table: str
    columns: Columns
    tail: str = "ON CONFLICT DO NOTHING"


REFUSALS = Book(
    "haven_core.refusals",
    (
        ("event_id", "text"),
        ("source", "text"),
        ("producer", "text"),
        ("subject_id", "text"),
        ("event_type", "text"),
        ("reason", "text"),
    ),
)
RETAINED = Book(
    "haven_core.retained_deliveries",
    (
        ("subject_id", "text"),
        ("agency_id", "text"),
        ("event", "jsonb"),
        ("fields", "text[]"),
        ("bases", "text[]"),
        ("partition", "int"),
        ("log_offset", "bigint"),
    ),
    "",
)
RECEIPTS = Book(
    "haven_core.erasure_receipts",
    (
        ("withdrawal_event_id", "text"),
        ("subject_id", "text"),
        ("agency_id", "text"),
        ("projector", "text"),
        ("cause", "text"),
        ("rows_erased", "int"),
        ("rows_retained", "int"),
        ("retained_bases", "text[]"),
        ("key_action", "text"),
        ("key_reason", "text"),
        ("key_due_at", "timestamptz"),
        ("backup_horizon", "text"),
    ),
)
GRANT_RECEIPTS = Book(
    "haven_core.grant_receipts",
    (
        ("grant_event_id", "text"),
        ("subject_id", "text"),
        ("consent_id", "text"),
        ("agency_id", "text"),
        ("events_shared", "int"),
        ("granted_at", "timestamptz"),
    ),
)
NOTICES = Book(
    "haven_core.notice_outbox",
    (("notice_id", "text"), ("agency_id", "text"), ("subject_id", "text"), ("payload", "jsonb")),
)
CONSENT_RECORDS = Book(
    "haven_core.consent_records",
    (
        ("topic", "text"),
        ("partition", "int"),
        ("log_offset", "bigint"),
        ("subject_id", "text"),
        ("event_id", "text"),
        ("kind", "text"),
        ("producer", "text"),
        ("at", "timestamptz"),
        ("record", "jsonb"),
    ),
)

#: The tables a later event of the batch reads back: retained deliveries (an
#: erasure rebuilds from them) and erasure receipts (a grant may cancel their
#: key destruction).
READ_BACK = (RETAINED, RECEIPTS)


@dataclass
class Bookkeeping:
    """Rows waiting for the next flush, per table, in the order they were added."""

    rows: dict[Book, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, book: Book, *values: Any) -> None:
        """One row of ``book`` (values in its column order)."""
        self.rows.setdefault(book, []).append(values)

    def flush(self, conn: Connection, only: tuple[Book, ...] | None = None) -> None:
        """Write every waiting row (``only``: of these tables): one statement per table."""
        for book in list(self.rows) if only is None else only:
            rows = self.rows.pop(book, None)
            if rows:
                bulk_insert(conn, book.table, book.columns, rows, book.tail)
