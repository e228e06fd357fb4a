"""503 and 500 as ``application/problem+json``: a dependency down, the API stopping, a bug.

While Postgres is down every call that needs it answers 503 with
``Retry-After`` (the client retries; nothing was accepted); while ``haven up``
drains on stop, writes answer 503 the same way (reads go on).  Any other
unexpected error is a 500 problem document, never a plain-text page; no
input value is echoed.
"""

from __future__ import annotations

import logging

import psycopg
import sqlalchemy.exc
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.context import ApiContext
from services.api.edge.problems import problem_response
from services.api.models import Problem

logger = logging.getLogger("haven.api")

RETRY_AFTER_S = 2
#: Errors that mean "the database is not reachable now", not "this request is wrong".
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def unavailable(reason: str) -> JSONResponse:
    """A 503 problem document with ``Retry-After``."""
    return problem_response(503, Problem(reason=reason), {"Retry-After": str(RETRY_AFTER_S)})


def database_down(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler: the database failed under a request."""
    logger.warning(
        "database unavailable", extra={"path": request.url.path, "error": type(exc).__name__}
    )
    return unavailable("database_unavailable")


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler of last resort: a 500 problem document (the error is logged)."""
    logger.error(
        "request failed",
        exc_info=exc,
        extra={"path": request.url.path, "error": type(exc).__name__},
    )
    return problem_response(500, Problem(reason="internal_error"))


class DrainGate:
    """ASGI middleware: while ``context.draining``, writes get 503 and ``Retry-After``."""

    def __init__(self, app: ASGIApp, context: ApiContext) -> None:
        self._app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._context.draining and scope["method"] not in _READS:
            await unavailable("stopping")(scope, receive, send)
            return
        await self._app(scope, receive, send)
