"""``subjects``: one row per subject the agency receives identification, risk or placements of."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import Connection, Executable, MetaData
from sqlalchemy.dialects.postgresql import JSONB, insert

from events.types import (
    PlacementEnded,
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.readmodels.builtin._common import TS, bind, params, visible
from projectors.readmodels.builtin.protective_orders import ProtectiveOrders
from projectors.readmodels.sdk import EventView, Projector

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
        self, conn: Connection, event: EventView, values: dict[str, Any], ending: bool = False
    ) -> None:
        """Insert the row or update the given columns (``ending``: clear a placement)."""
        statement = _save_statement(tuple(sorted(values)), ending)
        bound = params(values) | {"p_subject_id": event.subject_id, "p_time": event.time}
        if ending:
            bound["p_ended"] = event.get("placement_id")
        conn.execute(statement, bound)

    def on_identified(self, conn: Connection, event: EventView) -> None:
        """Who was identified, where and when (visible fields only)."""
        names = ("nationality", "exploitation_types", "is_minor", "gender", "age_band")
        values = visible(event, *names, "languages", "personal")
        if event.sees("identified_at"):
            values["identified_at"] = event.timestamp("identified_at")
        values["identified_in"] = event.jurisdiction
        self._save(conn, event, values)

    def on_assessed(self, conn: Connection, event: EventView) -> None:
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
        self._save(conn, event, values)

    def on_placement_started(self, conn: Connection, event: EventView) -> None:
        """The placement becomes the active one."""
        self._save(conn, event, {"active_placement_id": event.get("placement_id")})

    def on_placement_ended(self, conn: Connection, event: EventView) -> None:
        """The active placement ends, if it is this one."""
        self._save(conn, event, {}, ending=True)

    def on_orders_changed(self, conn: Connection, event: EventView) -> None:
        """Recount open orders on an existing row (orders alone create none)."""
        conn.execute(_RECOUNT, {"p_subject_id": event.subject_id, "p_time": event.time})


def _open_orders() -> sa.ScalarSelect[int]:
    """Orders of the subject in this schema not revoked (runs after the orders projector)."""
    return (
        sa.select(sa.func.count())
        .select_from(ORDERS)
        .where(ORDERS.c.subject_id == bind("subject_id"), ORDERS.c.revoked_at.is_(None))
        .scalar_subquery()
    )


TABLE = Subjects.table
_RECOUNT = (
    TABLE.update()
    .where(TABLE.c.subject_id == bind("subject_id"))
    .values(
        open_protective_orders=_open_orders(),
        last_event_at=sa.func.greatest(TABLE.c.last_event_at, bind("time")),
    )
)


@cache
def _save_statement(columns: tuple[str, ...], ending: bool) -> Executable:
    row = {name: bind(name) for name in columns}
    statement = insert(TABLE).values(
        subject_id=bind("subject_id"),
        last_event_at=bind("time"),
        open_protective_orders=_open_orders(),
        **row,
    )
    changes: dict[str, Any] = {name: statement.excluded[name] for name in columns}
    changes["last_event_at"] = sa.func.greatest(TABLE.c.last_event_at, bind("time"))
    if ending:
        active = TABLE.c.active_placement_id
        changes["active_placement_id"] = sa.case((active == bind("ended"), None), else_=active)
    return statement.on_conflict_do_update(index_elements=["subject_id"], set_=changes)
