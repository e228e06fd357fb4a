"""Operator pages (auditor agencies): pipeline status, dead letters, agencies and read models.

Like ``/metrics`` these read the pipeline's own tables as the service
account: counts, positions and ids, never a token, a key or an original.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, text

from events.topics import dlq_topic, log_topic
from projectors.directory.agencies import list_agencies
from projectors.readmodels.registry import default_registry
from projectors.runtime.heartbeat import STALE_AFTER_S
from services.api.console.dead_letters import dead_letter_counts
from services.api.console.web import OperatorDep, render
from services.api.deps import ContextDep
from services.api.observe import lag, pipeline_counts
from services.api.routes.ops import end_offsets

logger = logging.getLogger("haven.console")
router = APIRouter(prefix="/console/ops", include_in_schema=False)
_BROKER_TIMEOUT_S = 3.0
_WORKERS = text(
    "SELECT worker_id, started_at, ready_at, beat_at,"
    " round(extract(epoch FROM now() - beat_at)::numeric, 1) AS age,"
    " (ready_at IS NOT NULL AND beat_at > now() - make_interval(secs => :stale)) AS ready"
    " FROM haven_core.worker_heartbeats ORDER BY worker_id"
)


def _status(core: Engine, log: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    counts = pipeline_counts(core, log)
    with core.connect() as conn:
        workers = [dict(r._mapping) for r in conn.execute(_WORKERS, {"stale": STALE_AFTER_S})]
    return counts, workers


@router.get("/pipeline", response_class=HTMLResponse)
async def pipeline(viewer: OperatorDep, context: ContextDep) -> HTMLResponse:
    """Sealed, rejected by reason, projected, lag per partition, worker heartbeats."""
    log = log_topic(context.topic_prefix)
    counts, workers = await run_in_threadpool(_status, context.core, log)
    try:
        ends: dict[tuple[str, int], int] | None = await asyncio.wait_for(
            end_offsets(context), _BROKER_TIMEOUT_S
        )
    except Exception:
        logger.warning("console: broker end offsets unavailable")
        ends = None
    lags = []
    for consumer, positions in counts["positions"].items():
        mine = {k: v for k, v in (ends or {}).items() if (k[0] == log) == (consumer == "engine")}
        lags += [(consumer, *row) for row in lag(positions, mine)]
    return render(
        "pipeline.html", viewer, counts=counts, workers=workers, lags=lags, broker=ends is not None
    )


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters(viewer: OperatorDep, context: ContextDep) -> HTMLResponse:
    """Rejected inputs counted by reason and agency (the originals stay sealed, unshown)."""
    try:
        counts: Counter[tuple[str, str]] | None = dead_letter_counts(
            context.bootstrap_servers, dlq_topic(context.topic_prefix), context.topic_prefix
        )
    except Exception:
        logger.warning("console: dead-letter queue unreadable")
        counts = None
    rows = sorted((counts or {}).items(), key=lambda item: (-item[1], item[0]))
    return render("dead_letters.html", viewer, rows=rows, readable=counts is not None)


@router.get("/agencies", response_class=HTMLResponse)
def agencies(viewer: OperatorDep, context: ContextDep) -> HTMLResponse:
    """Every registered agency and the read models kept in its schema (no tokens)."""
    with context.core.connect() as conn:
        found = list_agencies(conn)
    registry = list(default_registry())
    rows = [
        (agency, [p.name for p in registry if p.runs_for(agency.agency_type)]) for agency in found
    ]
    return render("agencies.html", viewer, rows=rows)
