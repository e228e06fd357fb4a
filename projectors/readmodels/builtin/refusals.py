"""``refusals``: the agency's own refused events and why (not consent-based)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import MetaData

from projectors.readmodels.builtin._common import TS
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector


class Refusals(Projector):
    """Written by the engine through :meth:`record`; erasure leaves it alone."""

    name = "refusals"
    consent_based = False
    metadata = MetaData()
    table = sa.Table(
        "refusals",
        metadata,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("producer", sa.Text, nullable=False),
    )

    def record(self, rows: Rows, event: EventView, reason: str) -> None:
        """List one refused event in the producer's schema."""
        row = {
            "event_id": event.event_id,
            "subject_id": event.subject_id or None,
            "event_type": event.event_type,
            "reason": reason,
            "time": event.time,
            "producer": event.producer,
        }
        rows.insert(self.table, row)

    def forget(self, rows: Rows, event_id: str) -> None:
        """Remove an event's entry (a parked event that a retry then applied)."""
        rows.delete(self.table, {"event_id": event_id})
