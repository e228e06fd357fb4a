"""``risk_register``: subjects at high or critical risk, most urgent first."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import JSONB

from events.types import RiskAssessed
from projectors.readmodels.builtin._common import TS, visible
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector

URGENT = ("critical", "high")


class RiskRegister(Projector):
    """The latest high or critical assessment per subject; a lower one removes the row."""

    name = "risk_register"
    metadata = MetaData()
    table = sa.Table(
        "risk_register",
        metadata,
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.Text),
        sa.Column("factors", JSONB),
        sa.Column("immediate_needs", JSONB),
        sa.Column("review_by", sa.Date),
        sa.Column("assessed_at", TS),
        sa.Column("notes", JSONB),
    )
    handles: ClassVar[dict[str, str]] = {RiskAssessed.event_type: "on_assessed"}

    def on_assessed(self, rows: Rows, event: EventView) -> None:
        """Add, refresh or remove the subject's entry."""
        level = event.get("level")
        if level is None:
            return  # the agency may not see the level: nothing to register
        if level not in URGENT:
            rows.delete(self.table, {"subject_id": event.subject_id})
            return
        values: dict[str, Any] = visible(event, "level", "factors", "immediate_needs", "notes")
        values["jurisdiction"] = event.jurisdiction
        values["review_by"] = event.day("review_by")
        values["assessed_at"] = event.timestamp("assessed_at")
        rows.upsert(self.table, {"subject_id": event.subject_id}, values)
