"""``subjects``: one row per subject the agency receives identification, risk or placements of."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import Connection, MetaData
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from events.types import (
    PlacementEnded,
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.readmodels.builtin._common import TS, visible
from projectors.readmodels.builtin.protective_orders import ProtectiveOrders
from projectors.readmodels.changes import ColumnOps, Rows
from projectors.readmodels.rendering import run_in_schema
from projectors.readmodels.sdk import EventView, Projector, Written

ORDERS = ProtectiveOrders.table


class Subjects(Projector):
    """The agency's summary of each subject; protective orders alone create no row."""

    name = "subjects"
    metadata = MetaData()
    table = sa.Table(
        "subjects",
        metadata,
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("identified_at", TS),
        sa.Column("identified_in", sa.Text),
        sa.Column("nationality", JSONB),
        sa.Column("exploitation_types", JSONB),
        sa.Column("is_minor", sa.Boolean),
        sa.Column("gender", sa.Text),
        sa.Column("age_band", sa.Text),
        sa.Column("languages", JSONB),
        sa.Column("personal", JSONB),
        sa.Column("risk_level", sa.Text),
        sa.Column("immediate_needs", JSONB),
        sa.Column("risk_assessed_at", TS),
        sa.Column("review_by", sa.Date),
        sa.Column("active_placement_id", sa.Text),
        sa.Column("open_protective_orders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_event_at", TS, nullable=False),
    )
    handles: ClassVar[dict[str, str]] = {
        VictimIdentified.event_type: "on_identified",
        RiskAssessed.event_type: "on_assessed",
        PlacementStarted.event_type: "on_placement_started",
        PlacementEnded.event_type: "on_placement_ended",
        ProtectiveOrderIssued.event_type: "on_orders_changed",
        ProtectiveOrderRevoked.event_type: "on_orders_changed",
    }

    def _save(
        self, rows: Rows, event: EventView, values: dict[str, Any], ending: bool = False
    ) -> None:
        """Insert the row or update the given columns (``ending``: clear that placement)."""
        ops: ColumnOps = {"greatest": {"last_event_at": event.time}}
        if ending:  # no empty clear_if otherwise: each op kind given costs a pass
            ops["clear_if"] = {"active_placement_id": event.get("placement_id")}
        rows.upsert(self.table, {"subject_id": event.subject_id}, values, **ops)

    def on_identified(self, rows: Rows, event: EventView) -> None:
        """Who was identified, where and when (visible fields only)."""
        names = ("nationality", "exploitation_types", "is_minor", "gender", "age_band")
        values = visible(event, *names, "languages", "personal")
        if event.sees("identified_at"):
            values["identified_at"] = event.timestamp("identified_at")
        values["identified_in"] = event.jurisdiction
        self._save(rows, event, values)

    def on_assessed(self, rows: Rows, event: EventView) -> None:
        """The current risk level and needs."""
        values: dict[str, Any] = {}
        if event.sees("level"):
            values["risk_level"] = event.get("level")
        if event.sees("immediate_needs"):
            values["immediate_needs"] = event.get("immediate_needs")
        if event.sees("assessed_at"):
            values["risk_assessed_at"] = event.timestamp("assessed_at")
        if event.sees("review_by"):
            values["review_by"] = event.day("review_by")
        self._save(rows, event, values)

    def on_placement_started(self, rows: Rows, event: EventView) -> None:
        """The placement becomes the active one."""
        self._save(rows, event, {"active_placement_id": event.get("placement_id")})

    def on_placement_ended(self, rows: Rows, event: EventView) -> None:
        """The active placement ends, if it is this one."""
        self._save(rows, event, {}, ending=True)

    def on_orders_changed(self, rows: Rows, event: EventView) -> None:
        """Touch an existing row (orders alone create none); :meth:`refresh` recounts."""
        rows.update(
            self.table, {"subject_id": event.subject_id}, greatest={"last_event_at": event.time}
        )

    def refresh(self, conn: Connection, written: Written) -> None:
        """Recount open orders of the subjects written (after the orders are written)."""
        subjects = sorted(key[0] for key in written.get(TABLE.name, ()))
        if not subjects:
            return
        # Rendered once per schema: it runs per agency schema and flush.
        run_in_schema(conn, _RECOUNT, {"s": subjects})


TABLE = Subjects.table
_OPEN = (
    sa.select(sa.func.count())
    .select_from(ORDERS)
    .where(ORDERS.c.subject_id == TABLE.c.subject_id, ORDERS.c.revoked_at.is_(None))
    .scalar_subquery()
)
#: Only rows whose count changed are rewritten.
_RECOUNT = (
    TABLE.update()
    # One array parameter, not an expanding IN: the statement's text stays the same
    # whatever the number of subjects, so it is rendered once per schema.
    .where(TABLE.c.subject_id == sa.any_(sa.bindparam("s", type_=ARRAY(sa.Text))))
    .where(TABLE.c.open_protective_orders != _OPEN)
    .values(open_protective_orders=_OPEN)
)
