"""Coordinator pages: indicators as charts (suppressed cells never as numbers), risk register."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from projectors.directory.agencies import schema_name
from projectors.directory.roles import STATS_SCHEMA
from projectors.readmodels.indicators import indicator_cells
from services.api.console.views import charts
from services.api.console.web import IndicatorsDep, RiskDep, render
from services.api.db.access_log import record_reads
from services.api.db.agency import as_agency
from services.api.deps import ContextDep
from services.api.routes.lists import RISK, RISK_ORDER

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 500
#: Columns the register page shows: never the sealed free-text notes.
RISK_COLUMNS = ("subject_id", "level", "jurisdiction", "factors", "immediate_needs", "review_by")
_MONTHS = (
    "SELECT DISTINCT jurisdiction, date_trunc('month', identified_at AT TIME ZONE 'UTC')::date"
    " FROM {schema}.indicator_facts WHERE identified_at IS NOT NULL AND jurisdiction IS NOT NULL"
)


@router.get("/indicators", response_class=HTMLResponse)
def indicators(viewer: IndicatorsDep, context: ContextDep) -> HTMLResponse:
    """Per jurisdiction a bar chart of subjects per month and a table of every indicator."""
    caller = viewer.caller
    schema = STATS_SCHEMA if caller.agency_type == "auditor" else schema_name(caller.agency_id)
    cells: list[dict[str, object]] = []
    present: list[tuple[str, date]] = []
    with as_agency(context.reader, caller) as conn:
        exists = conn.execute(
            sa.text("SELECT to_regclass(:t)"), {"t": f"{schema}.indicator_facts"}
        ).scalar()
        if exists:
            cells = indicator_cells(conn, schema)
            quoted = conn.dialect.identifier_preparer.quote_schema(schema)
            present = [(r[0], r[1]) for r in conn.execute(sa.text(_MONTHS.format(schema=quoted)))]
    return render("indicators.html", viewer, charts=charts(cells, present))


@router.get("/risk-register", response_class=HTMLResponse)
def risk_register(viewer: RiskDep, context: ContextDep) -> HTMLResponse:
    """The agency's own register, most urgent first (the subjects shown are access-logged)."""
    query = sa.select(*(RISK.c[name] for name in RISK_COLUMNS), RISK.c.assessed_at)
    with as_agency(context.reader, viewer.caller) as conn:
        exists = conn.execute(
            sa.text("SELECT to_regclass(:t)"),
            {"t": f"{schema_name(viewer.caller.agency_id)}.risk_register"},
        ).scalar()
        rows = (
            [dict(r._mapping) for r in conn.execute(query.order_by(*RISK_ORDER).limit(PAGE))]
            if exists
            else []
        )
    subjects = [str(r["subject_id"]) for r in rows]
    record_reads(context.core, viewer.caller.agency_id, "console_risk_register", subjects)
    return render("risk.html", viewer, rows=rows)
