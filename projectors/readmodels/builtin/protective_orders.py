"""``protective_orders``: orders with validity and recognition; "active" is computed when read."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, MetaData, Table
from sqlalchemy.dialects.postgresql import JSONB

from events.types import ProtectiveOrderIssued, ProtectiveOrderRevoked
from projectors.readmodels.builtin._common import TS, visible
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector


class ProtectiveOrders(Projector):
    """One row per order; the respondent stays sealed with the order's own key."""

    name = "protective_orders"
    metadata = MetaData()
    table = sa.Table(
        "protective_orders",
        metadata,
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False, index=True),
        sa.Column("issuing_jurisdiction", sa.Text),
        sa.Column("order_type", sa.Text),
        sa.Column("valid_from", TS),
        sa.Column("valid_until", TS),
        sa.Column("recognized_in", JSONB),
        sa.Column("respondent", JSONB),
        sa.Column("issued_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("revoke_reason", sa.Text),
    )
    handles: ClassVar[dict[str, str]] = {
        ProtectiveOrderIssued.event_type: "on_issued",
        ProtectiveOrderRevoked.event_type: "on_revoked",
    }

    def on_issued(self, rows: Rows, event: EventView) -> None:
        """Store the order with the fields the agency may see."""
        values = visible(event, "issuing_jurisdiction", "order_type", "recognized_in", "respondent")
        for name in ("valid_from", "valid_until", "issued_at"):
            if event.sees(name):
                values[name] = event.timestamp(name)
        keys = {"order_id": event.get("order_id"), "subject_id": event.subject_id}
        rows.upsert(self.table, keys, values)

    def on_revoked(self, rows: Rows, event: EventView) -> None:
        """Mark the order revoked (a row appears even when the order itself was not seen)."""
        values = {"revoked_at": event.timestamp("revoked_at"), "revoke_reason": event.get("reason")}
        keys = {"order_id": event.get("order_id"), "subject_id": event.subject_id}
        rows.upsert(self.table, keys, values)


def active_clause(table: Table, now: datetime) -> ColumnElement[bool]:
    """Not revoked and ``now`` within validity: evaluated when queried, never stored."""
    return sa.and_(
        table.c.revoked_at.is_(None), table.c.valid_from <= now, table.c.valid_until > now
    )
