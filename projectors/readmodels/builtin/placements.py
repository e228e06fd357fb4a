"""``placements``: shelter placements and their state."""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import JSONB

from events.types import PlacementEnded, PlacementStarted
from projectors.readmodels.builtin._common import TS, visible
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector


class Placements(Projector):
    """One row per placement; ``location`` only where the policy shows it."""

    name = "placements"
    metadata = MetaData()
    table = sa.Table(
        "placements",
        metadata,
        sa.Column("placement_id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False, index=True),
        sa.Column("shelter_agency", sa.Text),
        sa.Column("placement_type", sa.Text),
        sa.Column("child_friendly", sa.Boolean),
        sa.Column("location", JSONB),
        sa.Column("started_at", TS),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.Text),
        sa.Column("state", sa.Text, nullable=False),
    )
    handles: ClassVar[dict[str, str]] = {
        PlacementStarted.event_type: "on_started",
        PlacementEnded.event_type: "on_ended",
    }

    def on_started(self, rows: Rows, event: EventView) -> None:
        """An active placement."""
        values = visible(event, "shelter_agency", "placement_type", "child_friendly", "location")
        values |= {"started_at": event.timestamp("started_at"), "state": "active"}
        keys = {"placement_id": event.get("placement_id"), "subject_id": event.subject_id}
        rows.upsert(self.table, keys, values)

    def on_ended(self, rows: Rows, event: EventView) -> None:
        """The placement ended (its start may not have been visible)."""
        values = {
            "ended_at": event.timestamp("ended_at"),
            "end_reason": event.get("reason"),
            "state": "ended",
        }
        keys = {"placement_id": event.get("placement_id"), "subject_id": event.subject_id}
        rows.upsert(self.table, keys, values)
