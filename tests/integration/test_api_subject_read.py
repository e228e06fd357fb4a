"""The short subject-read route answers exactly as the FastAPI route it stands in front of."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.api.edge.ratelimit import RateLimiter
from services.api.routes.subject_read import FastSubjectRead
from tests.integration.api_rig import SECRET_NAME, ApiStack, police_share

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(stack: ApiStack) -> str:
    """A subject the NGO identified and shared with the police only."""
    return police_share(stack)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subject ids the short route answered."""
    ids: list[str] = []
    handle = FastSubjectRead.handle

    async def counted(self: FastSubjectRead, scope: Any, receive: Any, send: Any) -> None:
        ids.append(scope["path_params"]["subject_id"])
        await handle(self, scope, receive, send)

    monkeypatch.setattr(FastSubjectRead, "handle", counted)
    return ids


@contextmanager
def fastapi_only(stack: ApiStack) -> Iterator[None]:
    """The app without its short route, as before it existed."""
    routes = stack.client.app.router.routes  # type: ignore[attr-defined]
    short = next(r for r in routes if isinstance(r, FastSubjectRead))
    routes.remove(short)
    try:
        yield
    finally:
        routes.insert(0, short)


def _answer(response: httpx.Response) -> tuple[int, str | None, bytes]:
    return response.status_code, response.headers.get("content-type"), response.content


def _logged(stack: ApiStack, subject: str) -> int:
    query = "SELECT count(*) FROM haven_core.access_log WHERE subject_id = :s"
    with stack.context.core.connect() as conn:
        return int(conn.execute(sa.text(query), {"s": subject}).scalar_one())


def test_every_answer_is_the_fastapi_routes_word_for_word(
    stack: ApiStack, shared: str, taken: list[str]
) -> None:
    cases = [
        ("gr_police", shared),  # 200 with an opened personal field
        ("gr_ngo", shared),
        ("gr_shelter", shared),  # 404: not shared with it
        ("gr_police", str(uuid.uuid4())),  # 404: never seen
        ("gr_police", "not-a-subject"),  # 422 from FastAPI
        ("gr_police", shared.upper()),  # 422 from FastAPI
    ]
    for agency, subject in cases:
        path = f"/v1/subjects/{subject}"
        stack.get(agency, path)  # the token is now in the cache
        before = _logged(stack, subject)
        short = stack.get(agency, path)
        with fastapi_only(stack):
            full = stack.get(agency, path)
        assert _answer(short) == _answer(full), (agency, subject)
        assert _logged(stack, subject) - before == (2 if short.status_code == 200 else 0)
    assert stack.get("gr_ngo", f"/v1/subjects/{shared}").json()["personal"]["full_name"] == (
        SECRET_NAME
    )
    assert taken.count(shared) >= 3, "the short route took the cached-token reads"
    assert "not-a-subject" not in taken
    assert shared.upper() not in taken


def test_without_a_cached_token_fastapi_answers(
    stack: ApiStack, shared: str, taken: list[str]
) -> None:
    path = f"/v1/subjects/{shared}"
    stack.context.tokens.clear()
    first = stack.client.get(path, headers=stack.headers("gr_police"))
    assert first.status_code == 200
    assert taken == [], "looked up, then cached, by the FastAPI route"
    assert stack.client.get(path, headers=stack.headers("gr_police")).status_code == 200
    assert taken == [shared]
    for headers in ({}, {"Authorization": "Bearer nobody"}, {"Authorization": "Basic x"}):
        short = stack.client.get(path, headers=headers)
        with fastapi_only(stack):
            full = stack.client.get(path, headers=headers)
        assert short.status_code == 401
        assert _answer(short) == _answer(full)
    assert taken == [shared]


def test_the_rate_limit_refuses_as_the_fastapi_route_does(
    stack: ApiStack, shared: str, taken: list[str]
) -> None:
    path = f"/v1/subjects/{shared}"
    stack.get("gr_police", path)
    limiter, stack.context.limiter = stack.context.limiter, RateLimiter(rate=0.001, burst=1)
    try:
        assert stack.get("gr_police", path).status_code == 200  # the one request of the bucket
        short = stack.get("gr_police", path)
        with fastapi_only(stack):
            full = stack.get("gr_police", path)
    finally:
        stack.context.limiter = limiter
    assert short.status_code == 429
    assert _answer(short) == _answer(full)
    assert short.headers["retry-after"]
    assert full.headers["retry-after"]
    assert taken.count(shared) == 3


def test_the_request_log_names_the_template_and_agency(
    stack: ApiStack, shared: str, taken: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    stack.get("gr_police", f"/v1/subjects/{shared}")
    with caplog.at_level(logging.INFO, logger="haven.api.access"):
        assert stack.get("gr_police", f"/v1/subjects/{shared}").status_code == 200
    (line,) = [r for r in caplog.records if r.name == "haven.api.access"]
    fields = (line.path, line.agency, line.status)  # type: ignore[attr-defined]
    assert fields == ("/v1/subjects/{subject_id}", "gr_police", 200)
    assert shared not in line.getMessage()
    assert taken
