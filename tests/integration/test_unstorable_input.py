"""Input Postgres cannot store is refused at the door, over HTTP and on Kafka (real stack).

The event that once halted erasure: an identification whose non-personal
``gender`` holds a NUL character.  Over HTTP it gets a 422 naming the field;
written to an inbox topic it goes to the DLQ as ``schema_violation``; it
never reaches the log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from events.topics import log_topic
from infra.endpoints import Endpoints
from tests.integration.api_rig import (
    SECRET_NAME,
    ApiStack,
    beating_api_stack,
    event,
    eventually,
    identification,
)
from tests.integration.harness import SealerHarness
from tests.integration.test_sealer import NAME, identified

pytestmark = pytest.mark.integration


def test_unstorable_events_on_kafka_go_to_the_dlq_as_schema_violations(
    harness: SealerHarness,
) -> None:
    nul_gender = identified()
    nul_gender["data"]["gender"] = "fe\x00male"
    surrogate = identified()
    surrogate["data"]["personal"]["full_name"] = NAME + chr(0xD800)
    future = identified()
    future["time"] = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for bad in (nul_gender, surrogate, future):
        harness.send_raw("gr_ngo", json.dumps(bad).encode())
    harness.send_raw("gr_ngo", json.dumps(identified()).encode())

    dlq = harness.dlq(3)
    assert [r["json"]["reason"] for r in dlq] == ["schema_violation"] * 3
    paths = sorted([(e["path"], e["code"]) for e in r["json"]["errors"]] for r in dlq)
    assert paths == [
        [("data.gender", "nul_character")],
        [("data.personal.full_name", "lone_surrogate")],
        [("time", "time_window")],
    ]
    assert all(NAME.encode() not in r["raw"] for r in dlq)
    assert len(harness.log(1)) == 1, "only the storable event reached the log"


@pytest.fixture(scope="module")
def stack(infra: Endpoints) -> Iterator[ApiStack]:
    with beating_api_stack(infra) as running:
        yield running


def test_nul_in_gender_gets_422_naming_the_field(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())
    bad = event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    bad["data"]["gender"] = f"{SECRET_NAME}\x00"
    response = stack.post("gr_ngo", bad)
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert {key: problem[key] for key in ("reason", "errors")} == {
        "reason": "schema_violation",
        "errors": [
            {
                "path": "data.gender",
                "message": "must not contain the NUL character (U+0000)",
                "code": "nul_character",
            }
        ],
    }
    assert SECRET_NAME not in response.text
    good = event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    batch = stack.post("gr_ngo", [good, bad])
    assert batch.status_code == 422
    assert [e["path"] for e in batch.json()["errors"]] == ["[1].data.gender"]


def test_content_types_are_checked(stack: ApiStack) -> None:
    one = event("gr_ngo", "haven.victim.identified.v1", str(uuid.uuid4()), identification())
    body = json.dumps(one).encode()
    headers = stack.headers("gr_ngo")
    for refused in ("text/plain", "application/xml", "application/json; charset=latin-1", ""):
        response = stack.client.post(
            "/v1/events", content=body, headers=headers | {"content-type": refused}
        )
        assert response.status_code == 415, refused
        assert response.json()["reason"] == "unsupported_media_type"
    as_batch = stack.client.post(
        "/v1/events",
        content=body,
        headers=headers | {"content-type": "application/cloudevents-batch+json"},
    )
    assert as_batch.status_code == 422
    assert as_batch.json()["reason"] == "invalid_batch"
    single = stack.client.post(
        "/v1/events",
        content=body,
        headers=headers | {"content-type": "application/cloudevents+json; charset=utf-8"},
    )
    assert single.status_code == 202, single.text


def test_parked_events_make_health_degraded_and_show_in_metrics(stack: ApiStack) -> None:
    topic = log_topic(stack.context.topic_prefix)
    row = {"t": topic, "s": str(uuid.uuid4())}
    with stack.pipeline.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.parked_events (topic, partition, log_offset, subject_id,"
                " source, event_id, event_type, producer, reason)"
                " VALUES (:t, 0, 999999, :s, 'urn:haven:agency:gr_ngo', 'e-1',"
                " 'haven.risk.assessed.v1', 'gr_ngo', 'parked:engine_error:DataError')"
            ),
            row,
        )
    try:
        eventually(lambda: stack.client.get("/v1/health").status_code == 200)
        health = stack.client.get("/v1/health")
        assert health.json()["status"] == "degraded"
        assert health.json()["checks"]["engine"].startswith("degraded: 1 subject(s) parked")
        metrics = stack.client.get("/metrics").text
        assert "haven_engine_parked_events 1.0" in metrics
        assert "haven_engine_parked_subjects 1.0" in metrics
    finally:
        with stack.pipeline.engine.begin() as conn:
            conn.execute(text("DELETE FROM haven_core.parked_events WHERE topic = :t"), row)
    healthy = stack.client.get("/v1/health").json()
    assert healthy["checks"]["engine"] == "ok"
