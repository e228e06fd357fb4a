"""The gateway's 202 is durable, never plaintext in a topic; 503 problem+json when it cannot be."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy import text

from events.topics import inbox_topic, log_topic
from infra.db import sync_engine
from infra.embedded.processes import free_port
from services.api.app import create_app
from tests.integration.api_rig import (
    SECRET_NAME,
    ApiStack,
    event,
    identification,
)
from tests.pipeline_rig import eventually

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def _scalar(stack: ApiStack, sql: str, **params: object) -> int:
    with stack.pipeline.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _records(bootstrap: str, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [record.value for record in consumer]
    finally:
        consumer.close()


def test_a_202_is_sealed_and_durable_before_the_answer_and_kept_once(stack: ApiStack) -> None:
    body = event("gr_ngo", "haven.victim.identified.v1", str(uuid.uuid4()), identification())
    first = stack.post("gr_ngo", body)
    assert first.status_code == 202, first.text
    # Marked in the transaction that wrote the sealed record, before the answer.
    marked = "SELECT count(*) FROM haven_core.sealed_events WHERE event_id = :i"
    assert _scalar(stack, marked, i=body["id"]) == 1
    again = stack.post("gr_ngo", body)  # a client's retry after a lost answer
    assert again.status_code == 202
    assert again.json()["accepted"] == [body["id"]]
    judged = "SELECT count(*) FROM haven_core.audit_ledger WHERE event_id = :i"
    eventually(lambda: _scalar(stack, judged, i=body["id"]) >= 1)
    left = "SELECT count(*) FROM haven_core.sealed_outbox WHERE event_id = :i"
    eventually(lambda: _scalar(stack, left, i=body["id"]) == 0)  # archived: forgotten
    assert _scalar(stack, judged, i=body["id"]) == 1, "the retry reached the log again"
    pipeline = stack.pipeline
    inbox = _records(pipeline.bootstrap, inbox_topic(pipeline.prefix, "gr_ngo"))
    assert not any(body["id"].encode() in value for value in inbox), "HTTP wrote to the inbox"
    log = _records(pipeline.bootstrap, log_topic(pipeline.prefix))
    assert any(body["id"].encode() in value for value in log)
    assert not any(SECRET_NAME.encode() in value for value in log)


def test_writes_get_503_with_retry_after_while_draining(stack: ApiStack) -> None:
    body = event("gr_ngo", "haven.victim.identified.v1", str(uuid.uuid4()), identification())
    stack.context.draining = True
    try:
        refused = stack.post("gr_ngo", body)
        health = stack.client.get("/v1/health")
    finally:
        stack.context.draining = False
    assert refused.status_code == 503
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["reason"] == "stopping"
    assert health.json()["status"] == "stopping"
    marked = "SELECT count(*) FROM haven_core.sealed_events WHERE event_id = :i"
    assert _scalar(stack, marked, i=body["id"]) == 0, "refused, so nothing was accepted"


def test_database_down_is_a_503_problem_and_health_names_it(stack: ApiStack) -> None:
    dead = sync_engine(f"postgresql+psycopg://haven:x@127.0.0.1:{free_port()}/haven")
    context = dataclasses.replace(stack.context, core=dead, reader=dead)
    body = event("gr_ngo", "haven.victim.identified.v1", str(uuid.uuid4()), identification())
    with TestClient(create_app(context)) as client:
        posted = client.post("/v1/events", json=body, headers=stack.headers("gr_ngo"))
        health = client.get("/v1/health")
    assert posted.status_code == 503
    assert posted.headers["content-type"] == PROBLEM
    assert posted.headers["retry-after"] == "2"
    problem = posted.json()
    assert (problem["status"], problem["reason"], problem["errors"]) == (
        503,
        "database_unavailable",
        [],
    )
    assert health.status_code == 503
    assert health.json()["down"] == ["database", "worker"]
    assert health.json()["checks"]["broker"] == "ok"
