"""A real pipeline plus the HTTP API in-process (FastAPI TestClient over the real stack)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from infra.settings import ApiSettings
from projectors.runtime.heartbeat import Heartbeat
from projectors.runtime.loop_thread import LoopThread
from services.api.app import create_app
from services.api.context import ApiContext
from services.api.serve import build_context
from services.scenarios.builders import cloudevent
from tests.pipeline_rig import Pipeline

AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("gr_police", "police", "GR"),
    ("gr_immig", "immigration", "GR"),
    ("gr_shelter", "shelter", "GR"),
    ("gr_audit", "auditor", "GR"),
    ("de_police", "police", "DE"),
]
SECRET_NAME = "Alina Zzyzxsecret"
SECRET_ALIAS = "Qwvxalias"


@dataclass
class ApiStack:
    """Pipeline threads, the API client and each agency's token."""

    pipeline: Pipeline
    client: TestClient
    context: ApiContext

    def headers(self, agency: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.pipeline.tokens[agency]}"}

    # ``TestClient``'s base class is untyped here (starlette types it against httpx2).
    def get(self, agency: str, path: str, **params: Any) -> httpx.Response:
        return cast(
            httpx.Response, self.client.get(path, headers=self.headers(agency), params=params)
        )

    def post(self, agency: str, body: Any, **headers: str) -> httpx.Response:
        return cast(
            httpx.Response,
            self.client.post("/v1/events", json=body, headers=self.headers(agency) | headers),
        )


@contextmanager
def api_stack(
    infra: Endpoints, engine: Engine, master_key: bytes, prefix: str
) -> Iterator[ApiStack]:
    """Registered agencies, running pipeline, and an API client on the same database."""
    pipeline = Pipeline(infra, engine, master_key, prefix, agencies=AGENCIES)
    settings = ApiSettings(topic_prefix=prefix)
    endpoints = Endpoints(infra.bootstrap_servers, engine.url.render_as_string(False), False)
    context = build_context(settings, endpoints, master_key)
    try:
        with TestClient(create_app(context)) as client:
            yield ApiStack(pipeline, client, context)
    finally:
        pipeline.close()


@contextmanager
def fresh_api_stack(infra: Endpoints) -> Iterator[ApiStack]:
    """:func:`api_stack` on a new database with a new topic prefix and master key."""
    from infra.db import sync_engine
    from tests.conftest import fresh_database

    with fresh_database(infra) as url:
        engine = sync_engine(url)
        prefix = f"t{uuid.uuid4().hex[:8]}"
        try:
            with api_stack(infra, engine, secrets.token_bytes(32), prefix) as running:
                yield running
        finally:
            engine.dispose()


@contextmanager
def beating_api_stack(infra: Endpoints) -> Iterator[ApiStack]:
    """:func:`fresh_api_stack` beating for the rig's sealer and engine threads.

    They are ready, but only a worker writes heartbeats: with the beat, health can say 200.
    """
    with fresh_api_stack(infra) as running:
        engine = running.pipeline.engine
        beat = LoopThread(lambda: Heartbeat(engine, [], interval_s=1.0), "heartbeat")
        running.pipeline.threads.append(beat.start())
        yield running


def event(
    agency: str, event_type: str, subject: str, data: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    """A CloudEvent from ``agency`` (jurisdiction from its id prefix)."""
    jurisdiction = kw.pop("jurisdiction", agency[:2].upper())
    return cloudevent(
        agency=agency,
        jurisdiction=jurisdiction,
        event_type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def identification(personal: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "identified_at": "2026-11-01T10:00:00Z",
        "nationality": ["UA"],
        "exploitation_types": ["forced_labour"],
        "indicators": ["passport withheld"],
        "is_minor": False,
        "languages": ["uk"],
    }
    if personal:
        data["personal"] = {"full_name": SECRET_NAME, "contact": SECRET_ALIAS}
    return data


def grant(agencies: list[str], purposes: list[str]) -> dict[str, Any]:
    return {
        "consent_id": f"c-{uuid.uuid4().hex[:8]}",
        "granted_at": datetime.now(UTC).isoformat(),
        "recipients": {"agencies": agencies},
        "purposes": purposes,
    }


def shared_with(subject: str, agencies: list[str], purposes: list[str]) -> list[dict[str, Any]]:
    """The NGO identifies ``subject``, grants ``agencies`` consent, identifies again."""
    return [
        event("gr_ngo", "haven.victim.identified.v1", subject, identification()),
        event("gr_ngo", "haven.consent.granted.v1", subject, grant(agencies, purposes)),
        event("gr_ngo", "haven.victim.identified.v1", subject, identification()),
    ]


def police_share(stack: ApiStack) -> str:
    """A new subject the NGO identified and shared with the police only, once the
    police can read it."""
    subject = str(uuid.uuid4())
    batch = shared_with(subject, ["gr_police"], ["protection"])
    response = stack.post("gr_ngo", batch, **{"content-type": "application/cloudevents-batch+json"})
    assert response.status_code == 202, response.text
    eventually(lambda: stack.get("gr_police", f"/v1/subjects/{subject}").status_code == 200)
    return subject


def refused_as(reader: Engine, role: str, statements: Iterable[str]) -> None:
    """Each of ``statements``, run on the API's login after ``SET LOCAL ROLE`` to
    ``role`` (a quoted name), is refused by Postgres."""
    for statement in statements:
        with reader.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(statement)


def risk(level: str) -> dict[str, Any]:
    return {
        "assessed_at": datetime.now(UTC).isoformat(),
        "level": level,
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "review_by": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
    }


def eventually(check: Callable[[], bool], timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)
