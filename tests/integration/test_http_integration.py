"""An HTTP-only agency on the real stack: notices, dead letters, tokens, limits, problems."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kafka import KafkaProducer
from sqlalchemy import text

from events.topics import inbox_topic
from projectors.directory.agencies import rotate_token
from services.api.edge.ratelimit import RateLimiter
from tests.integration.api_rig import (
    SECRET_NAME,
    ApiStack,
    event,
    eventually,
    identification,
    shared_with,
)

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
ASYNCAPI = Path(__file__).parents[2] / "contracts" / "asyncapi.yaml"


def _notice_schema(name: str) -> dict[str, object]:
    """A notice payload's schema from the AsyncAPI document (what the notices topic carries)."""
    schema: dict[str, object] = yaml.safe_load(ASYNCAPI.read_text())["components"]["schemas"][name]
    return schema


def _visible(stack: ApiStack, agency: str, subject: str) -> bool:
    return stack.get(agency, f"/v1/subjects/{subject}").status_code == 200


def test_an_http_only_agency_reads_its_erasure_notices_once(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())
    shared = shared_with(subject, ["gr_police"], ["protection"])
    assert stack.post("gr_ngo", shared).status_code == 202
    eventually(lambda: _visible(stack, "gr_police", subject))
    withdrawal = event(
        "gr_ngo",
        "haven.consent.withdrawn.v1",
        subject,
        {"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
    )
    assert stack.post("gr_ngo", withdrawal).status_code == 202

    def notices(**params: str) -> dict[str, Any]:
        response = stack.get("gr_police", "/v1/notices", **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    eventually(lambda: any(n["subject"] == subject for n in notices()["items"]))
    page = notices()
    (notice,) = [n for n in page["items"] if n["subject"] == subject]
    assert notice["withdrawal_event_id"] == withdrawal["id"]
    assert notice["rows_erased"] > 0
    payload = {k: v for k, v in notice.items() if k != "created_at"}
    jsonschema.validate(payload, _notice_schema("erasureNotice"))
    assert SECRET_NAME not in json.dumps(page)
    assert not any(
        n["subject"] == subject for n in stack.get("de_police", "/v1/notices").json()["items"]
    )
    assert notices(cursor=str(page["next_cursor"]))["items"] == [], "after the cursor: nothing new"
    acked = stack.client.post(
        "/v1/notices/ack", json={"cursor": page["next_cursor"]}, headers=stack.headers("gr_police")
    )
    assert acked.status_code == 200, acked.text
    assert notices()["items"] == [], "acknowledged notices are not read again"
    bad = stack.client.post(
        "/v1/notices/ack", json={"cursor": "not-a-cursor"}, headers=stack.headers("gr_police")
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    assert bad.json()["reason"] == "invalid_cursor"


def test_an_agency_sees_its_own_dead_letters_and_never_another_s(stack: ApiStack) -> None:
    producer = KafkaProducer(bootstrap_servers=stack.pipeline.bootstrap, acks="all")
    subject = str(uuid.uuid4())
    mine = event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    mine["data"]["is_minor"] = SECRET_NAME
    theirs = event("de_police", "haven.victim.identified.v1", subject, identification())
    theirs["data"]["languages"] = [SECRET_NAME]
    sent: dict[str, list[Any]] = {}  # kafka's untyped RecordMetadata
    for agency, body in (("gr_ngo", mine), ("de_police", theirs), ("gr_ngo", b"{broken")):
        value = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault(agency, []).append(
            producer.send(inbox_topic(stack.pipeline.prefix, agency), value=value).get(10)
        )
    producer.close()

    def letters(agency: str) -> list[dict[str, object]]:
        response = stack.get(agency, "/v1/dead-letters")
        assert response.status_code == 200, response.text
        assert SECRET_NAME not in response.text, "never the original"
        items: list[dict[str, object]] = response.json()["items"]
        return items

    eventually(lambda: len(letters("gr_ngo")) >= 2 and len(letters("de_police")) >= 1)
    ngo = {(d["source_partition"], d["source_offset"]): d for d in letters("gr_ngo")}
    police = letters("de_police")
    for record in sent["gr_ngo"]:
        assert (record.partition, record.offset) in ngo
    first, broken = (ngo[(r.partition, r.offset)] for r in sent["gr_ngo"])
    assert first["reason"] == "schema_violation"
    assert first["errors"] == [
        {"path": "data.is_minor", "message": "must be a boolean", "code": "bool_type"}
    ]
    assert broken["reason"] == "invalid_json"
    assert {d["source_topic"] for d in police} == {inbox_topic(stack.pipeline.prefix, "de_police")}
    assert police[0]["errors"][0]["path"] == "data.languages[0]"  # type: ignore[index]
    assert all(d["source_topic"].endswith(".gr_ngo.v1") for d in ngo.values())  # type: ignore[attr-defined]
    page = stack.get("gr_ngo", "/v1/dead-letters", limit=1).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]


def test_errors_are_problem_documents_keeping_reason_and_errors(stack: ApiStack) -> None:
    unauthenticated = stack.client.get("/v1/notices")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == PROBLEM
    assert unauthenticated.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "reason": "unauthorized",
        "errors": [],
    }
    invalid = stack.get("gr_ngo", "/v1/dead-letters", limit=0)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM
    assert invalid.json()["errors"][0]["path"] == "query.limit"
    assert stack.get("gr_ngo", "/v1/webhook").headers["content-type"] == PROBLEM
    live = stack.client.get("/v1/livez")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    document = stack.client.get("/openapi.json").json()
    for path in ("/v1/notices", "/v1/notices/ack", "/v1/dead-letters", "/v1/webhook", "/v1/livez"):
        assert path in document["paths"], path
    refusal = document["paths"]["/v1/events"]["post"]["responses"]["422"]["content"]
    assert list(refusal) == [PROBLEM]


def test_rate_limit_answers_429_with_retry_after(stack: ApiStack) -> None:
    before = stack.context.limiter
    stack.context.limiter = RateLimiter(rate=0.5, burst=2)
    try:
        codes = [stack.get("gr_coord", "/v1/notices").status_code for _ in range(3)]
        limited = stack.get("gr_coord", "/v1/notices")
        other = stack.get("gr_police", "/v1/notices")
    finally:
        stack.context.limiter = before
    assert codes == [200, 200, 429]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == PROBLEM
    assert limited.json()["reason"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert other.status_code == 200, "buckets are per agency"


def test_rotation_keeps_the_old_token_for_the_overlap_and_tokens_expire(
    stack: ApiStack,
) -> None:
    old = stack.pipeline.tokens["gr_immig"]
    new = rotate_token(stack.context.core, "gr_immig", overlap_s=2.0).token
    short = rotate_token(stack.context.core, "gr_immig", overlap_s=None, expires_in_s=2.0).token

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        code: int = stack.client.get("/v1/notices", headers=headers).status_code
        return code

    assert [status(old), status(new), status(short)] == [200, 200, 200]
    time.sleep(2.5)
    assert [status(old), status(new), status(short)] == [401, 200, 401]
    stack.pipeline.tokens["gr_immig"] = new


def test_access_log_names_the_route_template_never_the_subject(
    stack: ApiStack, caplog: pytest.LogCaptureFixture
) -> None:
    subject = str(uuid.uuid4())
    with caplog.at_level(logging.INFO, logger="haven.api.access"):
        stack.get("gr_police", f"/v1/subjects/{subject}")
    (line,) = [r for r in caplog.records if r.name == "haven.api.access"]
    assert line.path == "/v1/subjects/{subject_id}"  # type: ignore[attr-defined]
    assert (line.method, line.status, line.agency) == ("GET", 404, "gr_police")  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    assert subject not in caplog.text


def test_rectification_notices_come_through_the_same_feed(stack: ApiStack) -> None:
    subject, notice_id = str(uuid.uuid4()), str(uuid.uuid4())
    payload = {
        "notice_id": notice_id,
        "type": "haven.rectification.notice.v1",
        "agency": "gr_shelter",
        "subject": subject,
        "rectification_event_id": str(uuid.uuid4()),
        "target_event_id": str(uuid.uuid4()),
        "fields": ["personal.date_of_birth"],
        "reason": "data_entry_error",
        "retract": False,
        "time": datetime.now(UTC).isoformat(),
    }
    with stack.context.core.begin() as conn:  # as the engine's rectification writes it
        conn.execute(
            text(
                "INSERT INTO haven_core.notice_outbox (notice_id, agency_id, subject_id, payload)"
                " VALUES (:n, 'gr_shelter', :s, CAST(:p AS jsonb))"
            ),
            {"n": notice_id, "s": subject, "p": json.dumps(payload)},
        )
    (item,) = stack.get("gr_shelter", "/v1/notices").json()["items"]
    assert item["type"] == "haven.rectification.notice.v1"
    assert item["fields"] == ["personal.date_of_birth"]
    assert item["notice_id"] == notice_id
