"""The ``indicators`` read model: per jurisdiction and month, cells under 5 suppressed.

Per subject it keeps non-personal facts (``indicator_facts``): where and when
identified, exploitation types, minor, first placement, first risk
assessment, protective orders not revoked.  :func:`indicator_cells` turns
them into the published statistics, suppressing every cell counting fewer
than :data:`MIN_CELL` subjects.  It runs in each agency schema (a
coordinator sees its own deliveries) and, as a *statistics* projector, in
``haven_stats`` over every accepted event, which auditors read.  Facts are
keyed by ``subject_id``, so erasure needs no code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import Connection, MetaData
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

from events.types import (
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import EventView, Projector

MIN_CELL = 5
_TS = TIMESTAMP(timezone=True)


class Indicators(Projector):
    """Facts per subject for the oversight indicators of docs/rules.md "Read models"."""

    name = "indicators"
    statistics: ClassVar[bool] = True
    agency_types: ClassVar[frozenset[str] | None] = frozenset({"coordinator"})
    metadata = MetaData()
    facts = sa.Table(
        "indicator_facts",
        metadata,
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("jurisdiction", sa.Text),
        sa.Column("identified_at", _TS),
        sa.Column("exploitation_types", JSONB),
        sa.Column("is_minor", sa.Boolean),
        sa.Column("first_placement_at", _TS),
        sa.Column("first_risk_at", _TS),
        sa.Column("open_orders", sa.Integer, nullable=False, server_default="0"),
    )
    handles: ClassVar[dict[str, str]] = {
        VictimIdentified.event_type: "on_identified",
        RiskAssessed.event_type: "on_risk",
        PlacementStarted.event_type: "on_placement",
        ProtectiveOrderIssued.event_type: "on_order_issued",
        ProtectiveOrderRevoked.event_type: "on_order_revoked",
    }

    def _upsert(self, rows: Rows, subject_id: str, **values: Any) -> None:
        rows.upsert(self.facts, {"subject_id": subject_id}, values)

    def on_identified(self, rows: Rows, event: EventView) -> None:
        """The first identification fixes where and when; later ones refresh the facts."""
        values: dict[str, Any] = {"jurisdiction": event.jurisdiction}
        for name in ("identified_at",):
            if event.sees(name):
                values[name] = event.timestamp(name)
        for name in ("exploitation_types", "is_minor"):
            if event.sees(name):
                values[name] = event.get(name)
        self._upsert(rows, event.subject_id, **values)

    def _first(self, rows: Rows, event: EventView, column: str, field: str) -> None:
        at = event.timestamp(field) or event.time
        rows.upsert(self.facts, {"subject_id": event.subject_id}, least={column: at})

    def on_risk(self, rows: Rows, event: EventView) -> None:
        """The first risk assessment counts for the 72-hour indicator."""
        self._first(rows, event, "first_risk_at", "assessed_at")

    def on_placement(self, rows: Rows, event: EventView) -> None:
        """The first placement counts for the time-to-protection indicator."""
        self._first(rows, event, "first_placement_at", "started_at")

    def _orders(self, rows: Rows, event: EventView, change: int) -> None:
        rows.upsert(self.facts, {"subject_id": event.subject_id}, add={"open_orders": change})

    def on_order_issued(self, rows: Rows, event: EventView) -> None:
        """One more order not revoked."""
        self._orders(rows, event, 1)

    def on_order_revoked(self, rows: Rows, event: EventView) -> None:
        """One order fewer (never below zero)."""
        self._orders(rows, event, -1)


_CELLS = """
    WITH f AS (
        SELECT *, date_trunc('month', identified_at AT TIME ZONE 'UTC')::date AS month
        FROM {schema}.indicator_facts WHERE identified_at IS NOT NULL AND jurisdiction IS NOT NULL
    ), cells AS (
        SELECT jurisdiction, month, count(*) AS subjects,
               count(*) FILTER (WHERE is_minor) AS minors,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
                   first_placement_at - identified_at) / 3600.0) AS median_hours_to_placement,
               count(first_placement_at) AS placed,
               count(*) FILTER (WHERE first_risk_at <= identified_at + interval '72 hours')
                   AS risk_within_72h,
               count(*) FILTER (WHERE open_orders > 0) AS with_orders
        FROM f GROUP BY jurisdiction, month
    ), types AS (
        SELECT jurisdiction, month, jsonb_object_agg(kind, n) AS by_type FROM (
            SELECT jurisdiction, month, kind, count(*) AS n
            FROM f, jsonb_array_elements_text(coalesce(exploitation_types, '[]')) AS kind
            GROUP BY jurisdiction, month, kind HAVING count(*) >= :min
        ) t GROUP BY jurisdiction, month
    )
    SELECT c.*, t.by_type FROM cells c LEFT JOIN types t USING (jurisdiction, month)
    WHERE c.subjects >= :min ORDER BY c.jurisdiction, c.month
    """


def indicator_cells(
    conn: Connection, schema: str, min_cell: int = MIN_CELL
) -> list[dict[str, Any]]:
    """Published indicators from the facts in ``schema`` (an agency's or ``haven_stats``).

    A jurisdiction-month with fewer than ``min_cell`` subjects is left out;
    exploitation types counted fewer than ``min_cell`` times are omitted; the
    median is given only when at least ``min_cell`` subjects were placed.
    """
    quoted = conn.dialect.identifier_preparer.quote_schema(schema)
    query = sa.text(_CELLS.format(schema=quoted))
    rows = [dict(r._mapping) for r in conn.execute(query, {"min": min_cell})]
    for row in rows:
        if row.pop("placed") < min_cell:
            row["median_hours_to_placement"] = None
        subjects = row["subjects"]
        row["share_minors"] = _share(row.pop("minors"), subjects, min_cell)
        row["share_risk_assessed_72h"] = _share(row.pop("risk_within_72h"), subjects, min_cell)
        row["subjects_with_active_orders"] = _count(row.pop("with_orders"), min_cell)
        row["identifications_by_type"] = row.pop("by_type") or {}
    return rows


def _share(count: int, total: int, min_cell: int) -> float | None:
    hidden = 0 < count < min_cell or 0 < total - count < min_cell
    return None if hidden else round(count / total, 3)


def _count(count: int, min_cell: int) -> int | None:
    return None if 0 < count < min_cell else count
