"""``GET /v1/subjects/{id}`` on a short path when nothing about the request is unusual.

A subject read is the API's hottest request, and FastAPI's work around the
route (resolving its dependencies, validating and serialising the response
model, its layers of routers) took about half of the API process's Python
time per read in a profile under load: more than the read's own two round
trips to Postgres.  :class:`FastSubjectRead` is a route placed first in the
app's router that takes a request only when the answer cannot differ from
the FastAPI route's:

- ``GET`` of ``/v1/subjects/<id>`` with no root path, the id a well-formed
  subject id (the pattern of the path parameter, matched whole);
- a bearer token the process's token cache holds (checked in the last
  ``HAVEN_API_TOKEN_CACHE_S`` seconds, exactly what the FastAPI route would
  accept without a round trip).

Any other request does not match it, so the router goes on to the FastAPI
route as if it were not there: a malformed id, a missing or unknown token, a
token the cache no longer holds, each gets that route's answer word for
word.  What a matched read does is the route's own code
(:func:`~services.api.routes.subjects.subject_answer`): the rate limit, the
read under the caller's role, the access-log row committed before the
answer, the fields opened.  Its refusals (404, 429, a database outage) are
raised into the same exception handlers, since the router runs inside the
app's middleware, and its body is the response model's own JSON (the same
pydantic model, validated and dumped as FastAPI does).  The request log names
the same path template.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from events.envelope import SUBJECT_PATTERN
from services.api.auth import cached_caller
from services.api.context import ApiContext
from services.api.routes.subjects import SUBJECT_PATH, SubjectView, subject_answer

_PATH = re.compile(re.escape(SUBJECT_PATH).replace(r"\{subject_id\}", "([^/]+)"))
_SUBJECT = re.compile(SUBJECT_PATTERN)
_CALLER = "haven.caller"


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header as FastAPI's
    ``HTTPBearer`` reads it (the first such header), else None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" and token else None
    return None


class FastSubjectRead(BaseRoute):
    """The subject read for a cached token and a well-formed id; any other request
    goes on to the FastAPI route (see the module docstring)."""

    path = path_format = SUBJECT_PATH

    def __init__(self, context: ApiContext) -> None:
        self._context = context
        self._model: TypeAdapter[Any] = TypeAdapter(SubjectView)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL with the caller and the id for a request this route answers, else NONE."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return Match.NONE, {}
        found = _PATH.fullmatch(scope["path"])
        if found is None or not _SUBJECT.fullmatch(found[1]):  # the pattern fixes 36 chars
            return Match.NONE, {}
        caller = cached_caller(bearer_token(scope), self._context.tokens)
        if caller is None:
            return Match.NONE, {}
        return Match.FULL, {"route": self, "path_params": {"subject_id": found[1]}, _CALLER: caller}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        """Admit, read, log and open as the FastAPI route does; send the model's JSON."""
        caller = scope[_CALLER]
        scope.setdefault("state", {})["agency_id"] = caller.agency_id  # the request log's agency
        self._context.limiter.admit(caller.agency_id)
        value = await subject_answer(self._context, caller, scope["path_params"]["subject_id"])
        body = self._model.dump_json(self._model.validate_python(value), by_alias=True)
        headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
