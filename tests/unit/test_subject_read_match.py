"""Which requests the short subject-read route takes: only those whose answer it cannot change."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.security.utils import get_authorization_scheme_param
from starlette.routing import Match

from projectors.directory.agencies import hash_token
from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.routes.subject_read import FastSubjectRead, bearer_token
from services.api.tokens import TokenCache

SUBJECT = "0b6f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
TOKEN = "tok-" + "x" * 40
CALLER = Caller("gr_police", "police", "GR", "agency_gr_police")


def _route() -> FastSubjectRead:
    tokens = TokenCache(60.0)
    tokens.put(hash_token(TOKEN), CALLER, None)
    unused: Any = None  # matching touches no database
    return FastSubjectRead(ApiContext(unused, unused, unused, "t", "b", tokens=tokens))


def _scope(path: str = f"/v1/subjects/{SUBJECT}", **over: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "headers": [(b"host", b"x"), (b"authorization", f"Bearer {TOKEN}".encode())],
    }
    return scope | over


def test_a_plain_read_with_a_cached_token_is_taken() -> None:
    match, child = _route().matches(_scope())
    assert match is Match.FULL
    assert child["path_params"] == {"subject_id": SUBJECT}
    assert child["haven.caller"] == CALLER
    assert child["route"].path == "/v1/subjects/{subject_id}"  # what the request log names


@pytest.mark.parametrize(
    "scope",
    [
        _scope(method="HEAD"),
        _scope(method="POST"),
        _scope(root_path="/haven"),
        _scope(f"/v1/subjects/{SUBJECT}/"),
        _scope(f"/v1/subjects/{SUBJECT}/timeline"),
        _scope(f"/v1/subjects/{SUBJECT.upper()}"),
        _scope(f"/v1/subjects/{SUBJECT}\n"),
        _scope(f"/v1/subjects/{SUBJECT}0"),
        _scope("/v1/subjects/not-a-subject"),
        _scope(headers=[]),
        _scope(headers=[(b"authorization", b"Bearer someone-else")]),
        _scope(headers=[(b"authorization", f"Basic {TOKEN}".encode())]),
        _scope(type="websocket"),
    ],
    ids=[
        "head", "post", "root-path", "trailing-slash", "timeline", "upper-case", "newline",
        "too-long", "malformed", "no-token", "unknown-token", "basic-auth", "websocket",
    ],
)  # fmt: skip
def test_anything_else_goes_on_to_the_fastapi_route(scope: dict[str, Any]) -> None:
    assert _route().matches(scope) == (Match.NONE, {})


@pytest.mark.parametrize(
    "header", ["Bearer abc", "bearer abc", "BEARER  abc ", "Basic abc", "Bearer", "Bearer ", ""]
)
def test_the_token_is_read_as_fastapis_bearer_reads_it(header: str) -> None:
    scheme, token = get_authorization_scheme_param(header)
    expected = token if header and scheme.lower() == "bearer" and token else None
    assert bearer_token({"headers": [(b"authorization", header.encode())]}) == expected
