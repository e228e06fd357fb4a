"""Auditor and coordinator reads: erasure receipts, access log, indicators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from projectors.directory.agencies import schema_name
from projectors.directory.roles import STATS_SCHEMA
from projectors.readmodels.indicators import indicator_cells
from services.api.db.access_log import record_reads
from services.api.db.agency import as_agency
from services.api.db.core_tables import ACCESS_LOG, ERASURE_RECEIPTS
from services.api.deps import (
    DEFAULT_PAGE,
    CallerDep,
    ContextDep,
    Cursor,
    Limit,
    SubjectPath,
    SubjectQuery,
    require_type,
)
from services.api.listing import list_page
from services.api.models import AuditTrail, IndicatorCell, Page, Problem, row_model
from services.audit.trail import subject_trail

router = APIRouter(tags=["oversight"])
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "not an auditor (or coordinator)"}
}
ReceiptEntry = row_model("ErasureReceipt", ERASURE_RECEIPTS)
AccessEntry = row_model("AccessLogEntry", ACCESS_LOG)


@router.get("/v1/erasures/{subject_id}", response_model=list[ReceiptEntry], responses=FORBIDDEN)  # type: ignore[valid-type]
def erasure_receipts(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """Every erasure receipt of the subject (auditors)."""
    require_type(caller, "auditor")
    query = sa.select(ERASURE_RECEIPTS).where(ERASURE_RECEIPTS.c.subject_id == subject_id)
    order = (ERASURE_RECEIPTS.c.created_at, ERASURE_RECEIPTS.c.agency_id)
    with as_agency(context.reader, caller) as conn:
        rows = conn.execute(query.order_by(*order, ERASURE_RECEIPTS.c.projector)).all()
    if rows:
        record_reads(context.core, caller.agency_id, "erasures", [subject_id])
    return [dict(row._mapping) for row in rows]


@router.get("/v1/audit/trail/{subject_id}", response_model=AuditTrail, responses=FORBIDDEN)
def audit_trail(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """The subject's audit trail (auditors): events, recipients, reads, refusals, receipts.

    Ids, types, times and counts only, like ``haven audit trail``; no personal value.
    """
    require_type(caller, "auditor")
    with as_agency(context.reader, caller) as conn:
        trail = subject_trail(conn, subject_id)
    if trail["events"] or trail["refusals"]:
        record_reads(context.core, caller.agency_id, "audit_trail", [subject_id])
    return trail


@router.get("/v1/access-log", response_model=Page[AccessEntry], responses=FORBIDDEN)  # type: ignore[valid-type]
async def access_log(
    caller: CallerDep,
    context: ContextDep,
    subject_id: SubjectQuery = None,
    agency_id: str | None = Query(None, pattern=r"^[a-z][a-z0-9_]{1,39}$"),
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Any:
    """Who read which subject's data, when and through which endpoint (auditors)."""
    require_type(caller, "auditor")
    query = sa.select(*ACCESS_LOG.columns)
    if subject_id is not None:
        query = query.where(ACCESS_LOG.c.subject_id == subject_id)
    if agency_id is not None:
        query = query.where(ACCESS_LOG.c.agency_id == agency_id)
    return await list_page(context, caller, query, (ACCESS_LOG.c.id,), (cursor, limit), None)


@router.get("/v1/indicators", response_model=list[IndicatorCell], responses=FORBIDDEN)
def indicators(caller: CallerDep, context: ContextDep) -> Any:
    """Oversight indicators per jurisdiction and month, small cells suppressed.

    A coordinator sees those of its own deliveries; an auditor those of every
    accepted event (``haven_stats``).
    """
    require_type(caller, "coordinator", "auditor")
    schema = STATS_SCHEMA if caller.agency_type == "auditor" else schema_name(caller.agency_id)
    with as_agency(context.reader, caller) as conn:
        exists = conn.execute(
            sa.text("SELECT to_regclass(:t)"), {"t": f"{schema}.indicator_facts"}
        ).scalar()
        return indicator_cells(conn, schema) if exists else []
