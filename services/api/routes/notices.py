"""``/v1/notices``: the caller's notices over HTTP, read once by acknowledging.

A notice tells an agency's systems to erase (after a withdrawal) or correct
(after a rectification) their own copies of a subject's data.  ``GET``
returns the notices after the agency's acknowledged position (or after
``cursor``); ``POST /v1/notices/ack`` with the page's
``next_cursor`` moves that position forward, so a system that acknowledges
what it has processed reads each notice once, and one that crashes before
acknowledging reads it again (same ``notice_id``: drop repeats).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from services.api.deps import DEFAULT_PAGE, CallerDep, ContextDep, Cursor, Limit
from services.api.models import Problem
from services.api.pagination import decode_cursor, encode_cursor, invalid_cursor

router = APIRouter(tags=["integration"])


class Notice(BaseModel):
    """Act on your own copies of a subject's data: erase them (``haven.erasure.notice.v1``)
    or correct them (``haven.rectification.notice.v1``).  Ids, counts and field names only;
    the other members depend on the type."""

    model_config = ConfigDict(extra="allow")

    notice_id: str
    type: str
    subject: str
    time: str
    created_at: str


class NoticePage(BaseModel):
    """Notices in order; ``next_cursor`` follows the last one (pass it to ``ack``)."""

    items: list[Notice]
    next_cursor: str | None = Field(description="after the last item; null when there is none")
    more: bool = Field(description="true when more notices follow this page")


class Ack(BaseModel):
    """Acknowledge every notice up to ``cursor`` (a ``next_cursor`` of ``GET /v1/notices``)."""

    cursor: str = Field(max_length=2000)


class Acked(BaseModel):
    """The agency's acknowledged position (as a cursor)."""

    acked_cursor: str


_PAGE = text(
    "SELECT seq, payload, created_at FROM haven_core.notice_outbox"
    " WHERE agency_id = :a AND seq > COALESCE(CAST(:after AS bigint),"
    "  (SELECT acked_seq FROM haven_core.notice_acks WHERE agency_id = :a), 0)"
    " ORDER BY seq LIMIT :n"
)
_ACK = text(
    "INSERT INTO haven_core.notice_acks (agency_id, acked_seq) VALUES (:a, :s)"
    " ON CONFLICT (agency_id) DO UPDATE SET updated_at = now(),"
    " acked_seq = GREATEST(haven_core.notice_acks.acked_seq, EXCLUDED.acked_seq)"
    " RETURNING acked_seq"
)


def _position(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (seq,) = decode_cursor(cursor, 1)
    if not isinstance(seq, int) or seq < 0:
        raise invalid_cursor()
    return seq


@router.get("/v1/notices", response_model=NoticePage)
def notices(
    caller: CallerDep, context: ContextDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> Any:
    """The caller's erasure notices after its acknowledged position (or after ``cursor``)."""
    with context.core.connect() as conn:
        rows = conn.execute(
            _PAGE, {"a": caller.agency_id, "after": _position(cursor), "n": limit + 1}
        ).all()
    page = rows[:limit]
    items = [{**row.payload, "created_at": row.created_at.isoformat()} for row in page]
    last = encode_cursor([page[-1].seq]) if page else cursor
    return {"items": items, "next_cursor": last, "more": len(rows) > limit}


@router.post(
    "/v1/notices/ack",
    response_model=Acked,
    responses={400: {"model": Problem, "description": "the body is not JSON"}},
)
async def ack(body: Ack, caller: CallerDep, context: ContextDep) -> Any:
    """Mark every notice up to ``cursor`` as read; the position never moves back."""
    seq = _position(body.cursor)

    def store() -> int:
        with context.core.begin() as conn:
            return int(conn.execute(_ACK, {"a": caller.agency_id, "s": seq}).scalar_one())

    return {"acked_cursor": encode_cursor([await run_in_threadpool(store)])}
