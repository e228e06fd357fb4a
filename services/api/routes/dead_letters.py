"""``/v1/dead-letters`` and ``/v1/webhook``: what a producer needs to fix its own input.

Dead letters are the caller's own rejected inbox records: where each was
(topic, partition, offset: the publisher's delivery report names the same),
the reason and the field errors, whose messages are fixed texts.  The
original bytes are never returned (they stay sealed in the DLQ).
``/v1/webhook`` shows the caller's webhook and its delivery state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

from projectors.outbox.webhooks import webhook_state
from services.api.deps import DEFAULT_PAGE, CallerDep, ContextDep, Cursor, Limit
from services.api.models import Page, Problem, ProblemField
from services.api.pagination import fetch_page

router = APIRouter(tags=["integration"])
DEAD_LETTERS = sa.Table(
    "dead_letters",
    sa.MetaData(schema="haven_core"),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("source_topic", sa.Text, nullable=False),
    sa.Column("source_partition", sa.Integer, nullable=False),
    sa.Column("source_offset", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("errors", JSONB, nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("received_at", TIMESTAMP(timezone=True), nullable=False),
)


class DeadLetter(BaseModel):
    """One of the caller's rejected records: where it was and why (never its content)."""

    id: int
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str
    errors: list[ProblemField]
    size_bytes: int
    received_at: datetime


class Delivery(BaseModel):
    """One webhook delivery: a notice or a dead letter."""

    id: str
    type: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class WebhookState(BaseModel):
    """The caller's webhook (never its secret) and how its deliveries stand."""

    url: str
    since: datetime
    delivered: int
    pending: int
    retrying: int
    oldest_pending_at: datetime | None
    last_delivered_at: datetime | None
    deliveries: list[Delivery]


@router.get("/v1/dead-letters", response_model=Page[DeadLetter])
def dead_letters(
    caller: CallerDep, context: ContextDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> Any:
    """The caller's rejected inbox records, oldest first."""
    query = sa.select(
        DEAD_LETTERS.c.seq.label("id"),
        *(c for c in DEAD_LETTERS.columns if c.name not in ("seq", "agency_id")),
    ).where(DEAD_LETTERS.c.agency_id == caller.agency_id)
    with context.core.connect() as conn:
        rows, next_cursor = fetch_page(conn, query, [DEAD_LETTERS.c.seq], cursor, limit)
    fields = [c.name for c in query.selected_columns]
    return {
        "items": [{f: row[f] for f in fields} for row in rows],
        "next_cursor": next_cursor,
    }


@router.get(
    "/v1/webhook",
    response_model=WebhookState,
    responses={404: {"model": Problem, "description": "the caller has no webhook"}},
)
def webhook(caller: CallerDep, context: ContextDep) -> Any:
    """The caller's webhook and its latest deliveries (set with `haven agency webhook set`)."""
    with context.core.connect() as conn:
        state = webhook_state(conn, caller.agency_id)
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail={"reason": "not_found", "errors": []})
    return state
