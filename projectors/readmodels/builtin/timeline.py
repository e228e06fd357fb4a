"""``timeline``: per subject, what happened when and who recorded it; no personal fields."""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData

from events.types import (
    PlacementEnded,
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.readmodels.builtin._common import TS
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector

SHARED_TYPES = (
    VictimIdentified.event_type,
    RiskAssessed.event_type,
    PlacementStarted.event_type,
    PlacementEnded.event_type,
    ProtectiveOrderIssued.event_type,
    ProtectiveOrderRevoked.event_type,
)


class Timeline(Projector):
    """One row per event the agency received."""

    name = "timeline"
    metadata = MetaData()
    table = sa.Table(
        "timeline",
        metadata,
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.Text),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("log_offset", sa.BigInteger, nullable=False),
    )
    handles: ClassVar[dict[str, str]] = dict.fromkeys(SHARED_TYPES, "on_event")

    def on_event(self, rows: Rows, event: EventView) -> None:
        """Record the event (a repeat changes nothing)."""
        partition, offset = event.position
        row = {
            "subject_id": event.subject_id,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "time": event.time,
            "producer": event.producer,
            "jurisdiction": event.jurisdiction,
            "partition": partition,
            "log_offset": offset,
        }
        rows.insert(self.table, row)
