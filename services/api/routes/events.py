"""``POST /v1/events``: one CloudEvent or a batch, sealed and durable before the 202.

The gateway runs the sealer's checks and its sealing (:func:`seal_records`),
then writes the sealed records with their ``(source, id)`` marks into the
sealed outbox in one transaction; the relay produces them to the log.  No
plaintext personal value ever reaches a broker topic on this path, and a
202 survives a crash of any part: the outbox is in Postgres.  An event whose
``(source, id)`` was accepted before is acknowledged again and kept once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from events.errors import FieldError
from projectors.outbox.sealed import stage_sealed
from projectors.sealer.seal import seal_records
from services.api.auth import bearer_token, caller_for
from services.api.context import ApiContext
from services.api.deps import ContextDep, admitted
from services.api.edge.problems import problem_response
from services.api.ingest import (
    MAX_BODY_BYTES,
    Outgoing,
    Refused,
    body_shape,
    validate_events,
)
from services.api.models import Accepted, Problem
from services.api.observe import count_rejection

logger = logging.getLogger("haven.api")

router = APIRouter(tags=["events"])

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A CloudEvent 1.0 in structured mode (see contracts/ for every type). In binary mode"
        " the attributes come as `ce-` headers and this body is the event's `data` alone."
    ),
    "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
    "properties": {
        "specversion": {"type": "string"},
        "id": {"type": "string"},
        "source": {"type": "string"},
        "type": {"type": "string"},
        "subject": {"type": "string"},
        "time": {"type": "string"},
        "agency": {"type": "string"},
        "jurisdiction": {"type": "string"},
        "traceparent": {"type": "string", "description": "W3C Trace Context"},
        "tracestate": {"type": "string", "description": "W3C Trace Context"},
        "data": {"type": "object"},
    },
}
_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": why,
    }
    for name, why in (
        ("ce-specversion", "binary mode: `1.0`; the other attributes as `ce-<name>` headers"),
        ("traceparent", "W3C Trace Context, carried to the log for events without their own"),
        ("tracestate", "W3C Trace Context, carried to the log for events without their own"),
    )
]
_BODY = {
    "parameters": _HEADERS,
    "requestBody": {
        "required": True,
        "content": {
            "application/cloudevents+json": {"schema": _EVENT_SCHEMA},
            "application/cloudevents-batch+json": {
                "schema": {"type": "array", "items": _EVENT_SCHEMA, "maxItems": 1000}
            },
            "application/json": {"schema": _EVENT_SCHEMA},
        },
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": why}
    for code, why in (
        (401, "no valid bearer token"),
        (403, "`agency` or `source` is not the caller"),
        (413, "the body exceeds 1 MiB"),
        (415, "Content-Type is not a CloudEvents JSON or application/json type"),
        (422, "invalid input, with field paths"),
        (429, "over the agency's rate limit (see `Retry-After`)"),
        (503, "the database is unavailable or the API is stopping; retry after Retry-After"),
    )
}


def _problem(status_code: int, problem: Problem) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return problem_response(status_code, problem, headers)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(413, Problem.of("too_large", (FieldError("", "the body exceeds 1 MiB"),)))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, Problem.of("too_large", (FieldError("", "the body exceeds 1 MiB"),)))
        chunks.append(chunk)
    return b"".join(chunks)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _accept(context: ApiContext, events: list[Outgoing]) -> None:
    """Seal and write to the sealed outbox (blocking: runs in a thread)."""
    records = seal_records(context.keyring, [e.event for e in events])
    with context.core.begin() as conn:
        stage_sealed(conn, records)


async def _count(context: ApiContext, reason: str) -> None:
    try:
        await run_in_threadpool(count_rejection, context.core, "gateway", reason)
    except Exception:  # a metric must never turn a 4xx into a 5xx
        logger.warning("rejection not counted", extra={"reason": reason}, exc_info=True)


@router.post(
    "/v1/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=_RESPONSES,
    openapi_extra=_BODY,
)
async def post_events(request: Request, context: ContextDep) -> Any:
    """Validate and seal like the sealer, write durably; 202 with the ids."""
    try:
        raw = await _body(request)
        token = bearer_token(request.headers.get("authorization"))
        caller = await run_in_threadpool(caller_for, context.core, token, context.tokens)
        admitted(request, context, caller)
        shape = body_shape(request.headers.get("content-type"))
        events = validate_events(raw, caller.agency_id, shape, _lower(request.headers))
    except Refused as refused:
        await _count(context, refused.problem.reason)
        return _problem(refused.status, refused.problem)
    await run_in_threadpool(_accept, context, events)
    return JSONResponse({"accepted": [e.event_id for e in events]}, status_code=202)
