"""Composition root of the HTTP API: ``create_app(context)``.

The Kafka client (end offsets for health and metrics) starts in the app's
lifespan (never at import time); errors are answered as
:class:`~services.api.models.Problem` documents with field paths and never
echo input values; a database outage or a stop is a 503 with ``Retry-After``
(:mod:`services.api.edge.unavailable`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from events.errors import error_path
from events.kafka_security import aiokafka_kwargs
from services.api.console import install as install_console
from services.api.context import ApiContext
from services.api.db.pools import close_pools
from services.api.edge.problems import document_problems, problem_response
from services.api.edge.request_log import AccessLog
from services.api.edge.unavailable import DATABASE_DOWN, DrainGate, database_down, internal_error
from services.api.models import Problem, ProblemField
from services.api.routes import ROUTERS
from services.api.routes.subject_read import FastSubjectRead

logger = logging.getLogger("haven.api")
_REASONS = {
    400: "invalid_json",  # FastAPI's answer to a JSON body it cannot parse
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail: Any = exc.detail
    if not isinstance(detail, dict):
        detail = {"reason": _REASONS.get(exc.status_code, "error"), "errors": []}
    return problem_response(exc.status_code, Problem.model_validate(detail), exc.headers)


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        ProblemField(path=error_path(e["loc"]), message=str(e["msg"]), code=str(e["type"]))
        for e in exc.errors()
    ]
    return problem_response(422, Problem(reason="invalid_request", errors=errors))


def _lifespan(context: ApiContext) -> Any:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.offsets = AIOKafkaConsumer(
            bootstrap_servers=context.bootstrap_servers,
            enable_auto_commit=False,
            **aiokafka_kwargs(),
        )
        context.admin = AIOKafkaAdminClient(
            bootstrap_servers=context.bootstrap_servers, **aiokafka_kwargs()
        )
        await context.offsets.start()
        await context.admin.start()
        logger.info("api started")
        try:
            yield
        finally:
            await context.offsets.stop()
            await context.admin.close()
            await close_pools(context.core, context.reader)
            context.core.dispose()
            context.reader.dispose()
            logger.info("api stopped")

    return lifespan


def create_app(context: ApiContext) -> FastAPI:
    """The FastAPI application over ``context``."""
    app = FastAPI(
        title="Haven API",
        version="1",
        description="Gateway and per-agency queries. Bearer token on every call but health.",
        lifespan=_lifespan(context),
        responses={
            401: {"model": Problem, "description": "no valid bearer token"},
            422: {"model": Problem, "description": "invalid input, with field paths"},
            429: {"model": Problem, "description": "over the agency's rate limit (Retry-After)"},
        },
    )
    app.state.context = context
    app.add_exception_handler(HTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_middleware(AccessLog)
    for error in DATABASE_DOWN:
        app.add_exception_handler(error, database_down)
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(DrainGate, context=context)
    for router in ROUTERS:
        app.include_router(router)
    # First in the router: takes the plain subject read, else passes (routes/subject_read.py).
    app.router.routes.insert(0, FastSubjectRead(context))
    build_openapi = app.openapi
    app.openapi = lambda: document_problems(build_openapi())  # type: ignore[method-assign]
    install_console(app)
    return app
