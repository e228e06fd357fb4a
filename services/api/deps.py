"""FastAPI dependencies: the API context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from events.envelope import SUBJECT_PATTERN
from services.api.auth import Caller, cached_caller, caller_for
from services.api.context import ApiContext
from services.api.pagination import DEFAULT_LIMIT, MAX_LIMIT

_bearer = HTTPBearer(auto_error=False, description="the agency's API token")


async def get_context(request: Request) -> ApiContext:
    """The context ``create_app`` stored on the app."""
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def admitted(request: Request, context: ApiContext, caller: Caller) -> Caller:
    """``caller``, named in the access log, once its rate limit lets it through (429)."""
    request.state.agency_id = caller.agency_id
    context.limiter.admit(caller.agency_id)
    return caller


async def get_caller(request: Request, context: ContextDep, credentials: Credentials) -> Caller:
    """The agency whose bearer token came with the request (401 otherwise, 429 over its rate).

    A token in the cache is answered on the event loop; any other goes to the
    database from a worker thread.
    """
    token = credentials.credentials if credentials else None
    caller = cached_caller(token, context.tokens)
    if caller is None:
        caller = await run_in_threadpool(caller_for, context.core, token, context.tokens)
    return admitted(request, context, caller)


CallerDep = Annotated[Caller, Depends(get_caller)]
Cursor = Annotated[str | None, Query(max_length=2000, description="from `next_cursor`")]


def _digits(value: object) -> object:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written in decimal digits")
    return value


#: A whole-number query parameter as written: decimal digits only.  Python's ``int``
#: would also take ``"4\n"``, ``" 4"``, ``"+4"`` or ``"4_0"``, none of which is an
#: integer in the API's schema; they are refused (422) instead of read as a number.
DIGITS = BeforeValidator(_digits)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT), DIGITS]
SubjectPath = Annotated[str, Path(pattern=SUBJECT_PATTERN, max_length=36)]
SubjectQuery = Annotated[str | None, Query(pattern=SUBJECT_PATTERN, max_length=36)]
Jurisdiction = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")]
DEFAULT_PAGE = DEFAULT_LIMIT


def require_type(caller: Caller, *allowed: str) -> None:
    """403 unless the caller's agency type is one of ``allowed``."""
    if caller.agency_type not in allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"reason": "forbidden", "errors": []},
        )
