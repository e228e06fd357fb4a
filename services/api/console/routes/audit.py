"""Auditor pages: chain status and verify, subject trail, access log, erasure receipts."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from events.envelope import SUBJECT_PATTERN
from services.api.console.verify_runs import recent_runs, start_verify
from services.api.console.views import chain_rows, timeline
from services.api.console.web import AuditorDep, check_csrf, checked, redirect, render
from services.api.db.access_log import record_reads
from services.api.db.agency import as_agency
from services.api.db.core_tables import ACCESS_LOG, ERASURE_RECEIPTS
from services.api.deps import DIGITS, ContextDep
from services.audit.trail import subject_trail

router = APIRouter(prefix="/console/audit", include_in_schema=False)
PAGE = 100
Text = Annotated[str, Query(max_length=100)]
AGENCY_PATTERN = r"[a-z][a-z0-9_]{1,39}"
_PARTITIONS = sa.text(
    "SELECT topic, partition, count(*) AS entries, max(log_offset) AS last_offset"
    " FROM haven_core.audit_ledger GROUP BY topic, partition ORDER BY topic, partition"
)


@router.get("/chain", response_class=HTMLResponse)
def chain(viewer: AuditorDep, context: ContextDep) -> HTMLResponse:
    """Each partition's chain: size, last verify result and first broken position."""
    with as_agency(context.reader, viewer.caller) as conn:
        partitions = [dict(r._mapping) for r in conn.execute(_PARTITIONS)]
        runs = recent_runs(conn)
    finished = next((r for r in runs if r["status"] in ("holds", "broken")), None)
    running = next((r for r in runs if r["status"] == "running"), None)
    rows = chain_rows(partitions, finished["report"] if finished else None)
    return render(
        "chain.html", viewer, rows=rows, runs=runs, last=finished, running=running, refresh=2
    )


@router.post("/verify")
def run_verify(
    viewer: AuditorDep, context: ContextDep, csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    """Start verify in the background and go back to the chain page, which shows progress."""
    check_csrf(viewer.session.csrf_token, csrf)
    start_verify(context.core, viewer.caller.agency_id)
    return redirect("/console/audit/chain")


@router.get("/trail", response_class=HTMLResponse)
def trail(viewer: AuditorDep, context: ContextDep, subject: Text = "") -> HTMLResponse:
    """A subject's trail as a timeline (the read is written to the access log)."""
    found: dict[str, Any] | None = None
    subject = checked(viewer, subject.strip(), SUBJECT_PATTERN)
    if subject:
        with as_agency(context.reader, viewer.caller) as conn:
            found = subject_trail(conn, subject)
        record_reads(context.core, viewer.caller.agency_id, "console_trail", [subject])
    moments = timeline(found) if found else []
    return render("trail.html", viewer, subject=subject, trail=found, moments=moments)


@router.get("/access-log", response_class=HTMLResponse)
def access_log(
    viewer: AuditorDep,
    context: ContextDep,
    subject: Text = "",
    agency: Text = "",
    endpoint: Text = "",
    before: Annotated[int, Query(ge=0), DIGITS] = 0,
) -> HTMLResponse:
    """The newest reads first, filtered by subject, agency and endpoint."""
    query = sa.select(*ACCESS_LOG.columns).order_by(ACCESS_LOG.c.id.desc()).limit(PAGE)
    filters = {
        "subject_id": checked(viewer, subject.strip(), SUBJECT_PATTERN),
        "agency_id": checked(viewer, agency.strip(), AGENCY_PATTERN),
        "endpoint": checked(viewer, endpoint.strip(), r"[a-z_-]{1,40}"),
    }
    for column, value in filters.items():
        if value:
            query = query.where(ACCESS_LOG.c[column] == value)
    if before:
        query = query.where(ACCESS_LOG.c.id < before)
    with as_agency(context.reader, viewer.caller) as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    older = rows[-1]["id"] if len(rows) == PAGE else None
    return render(
        "access_log.html", viewer, rows=rows, filters=filters | {"before": before}, older=older
    )


@router.get("/erasures", response_class=HTMLResponse)
def erasures(viewer: AuditorDep, context: ContextDep, subject: Text = "") -> HTMLResponse:
    """The newest erasure receipts, or one subject's (the subjects shown are access-logged)."""
    query = sa.select(ERASURE_RECEIPTS)
    subject = checked(viewer, subject.strip(), SUBJECT_PATTERN)
    if subject:
        query = query.where(ERASURE_RECEIPTS.c.subject_id == subject)
    order = (ERASURE_RECEIPTS.c.created_at.desc(), ERASURE_RECEIPTS.c.agency_id)
    with as_agency(context.reader, viewer.caller) as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(*order).limit(PAGE))]
    record_reads(
        context.core, viewer.caller.agency_id, "console_erasures", [r["subject_id"] for r in rows]
    )
    return render("erasures.html", viewer, rows=rows, subject=subject)
