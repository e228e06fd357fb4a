"""CloudEvents as SDKs send them, on the real broker: both modes, both paths, trace context.

The official ``cloudevents`` SDK builds the events; they are posted to
``/v1/events`` and produced to an inbox by kafka-python and by librdkafka
(confluent-kafka).  Each must become visible to its producer, with its
``traceparent`` carried into the sealed log, and every record Haven writes
must carry a ``content-type`` header.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import Producer as RdKafkaProducer
from kafka import KafkaConsumer, KafkaProducer

from events.topics import inbox_topic, log_topic
from tests.integration.api_rig import (
    SECRET_NAME,
    ApiStack,
    eventually,
    identification,
)

pytestmark = pytest.mark.integration


def _traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


def _sdk_event(subject: str, traceparent: str) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": str(uuid.uuid4()),
            "type": "haven.victim.identified.v1",
            "source": "urn:haven:agency:gr_ngo",
            "subject": subject,
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            "agency": "gr_ngo",
            "jurisdiction": "GR",
            "traceparent": traceparent,
        },
        data=identification(),
    )


def _visible(stack: ApiStack, subject: str) -> None:
    eventually(lambda: stack.get("gr_ngo", f"/v1/subjects/{subject}").status_code == 200)


def _records(bootstrap: str, topic: str, wanted: set[str]) -> dict[str, Any]:
    """Records of ``topic`` whose CloudEvent id is in ``wanted`` (by id)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    found: dict[str, Any] = {}
    deadline = time.monotonic() + 45
    try:
        while not wanted <= set(found) and time.monotonic() < deadline:
            for record in consumer:
                body = json.loads(record.value)
                if body.get("id") in wanted:
                    found[body["id"]] = record
                if wanted <= set(found):
                    break
    finally:
        consumer.close()
    return found


def test_http_binary_and_structured_modes_from_the_sdk(stack: ApiStack) -> None:
    binary, structured = str(uuid.uuid4()), str(uuid.uuid4())
    traces = {binary: _traceparent(), structured: _traceparent()}
    sent = {}
    for subject, to_message in (
        (binary, ce_http.to_binary_event),
        (structured, ce_http.to_structured_event),
    ):
        event = _sdk_event(subject, traces[subject])
        message = to_message(event)
        response = stack.client.post(
            "/v1/events",
            content=message.body,
            headers=stack.headers("gr_ngo") | dict(message.headers),
        )
        assert response.status_code == 202, response.text
        sent[event.get_id()] = subject
    for subject in traces:
        _visible(stack, subject)
    prefix, bootstrap = stack.pipeline.prefix, stack.pipeline.bootstrap
    logged = _records(bootstrap, log_topic(prefix), set(sent))
    for event_id, record in logged.items():
        assert ("content-type", b"application/cloudevents+json") in record.headers
        assert json.loads(record.value)["traceparent"] == traces[sent[event_id]]


def test_w3c_trace_headers_reach_the_log_of_a_structured_post(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())
    body = json.loads(ce_http.to_structured_event(_sdk_event(subject, _traceparent())).body)
    del body["traceparent"]
    trace = _traceparent()
    headers = stack.headers("gr_ngo") | {"traceparent": trace, "tracestate": "vendor=abc"}
    assert stack.client.post("/v1/events", json=body, headers=headers).status_code == 202
    logged = _records(stack.pipeline.bootstrap, log_topic(stack.pipeline.prefix), {body["id"]})
    value = json.loads(logged[body["id"]].value)
    assert (value["traceparent"], value["tracestate"]) == (trace, "vendor=abc")


def test_binary_mode_errors_name_the_attribute(stack: ApiStack) -> None:
    message = ce_http.to_binary_event(_sdk_event(str(uuid.uuid4()), _traceparent()))
    headers = dict(message.headers) | {"ce-subject": "not-a-uuid"}
    response = stack.client.post(
        "/v1/events", content=message.body, headers=stack.headers("gr_ngo") | headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "subject"
    headers = dict(message.headers) | {"content-type": "text/plain"}
    response = stack.client.post(
        "/v1/events", content=message.body, headers=stack.headers("gr_ngo") | headers
    )
    assert response.status_code == 415, "binary mode carries application/json data"
    assert response.json()["reason"] == "unsupported_media_type"


def test_kafka_binary_mode_from_kafka_python_and_librdkafka(stack: ApiStack) -> None:
    prefix, bootstrap = stack.pipeline.prefix, stack.pipeline.bootstrap
    topic = inbox_topic(prefix, "gr_ngo")
    via_python, via_rdkafka, structured = (str(uuid.uuid4()) for _ in range(3))
    traces = {s: _traceparent() for s in (via_python, via_rdkafka, structured)}
    ids = {}

    python = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for subject, to_message in (
        (via_python, ce_kafka.to_binary_event),
        (structured, ce_kafka.to_structured_event),
    ):
        event = _sdk_event(subject, traces[subject])
        message = to_message(event)
        python.send(
            topic,
            key=subject.encode(),
            value=message.value,
            headers=list(message.headers.items()),
        ).get(10)
        ids[event.get_id()] = subject
    python.close()

    event = _sdk_event(via_rdkafka, traces[via_rdkafka])
    message = ce_kafka.to_binary_event(event)
    rdkafka = RdKafkaProducer({"bootstrap.servers": bootstrap, "acks": "all"})
    delivered: list[object] = []
    rdkafka.produce(
        topic,
        key=via_rdkafka.encode(),
        value=message.value,
        headers=list(message.headers.items()),
        on_delivery=lambda error, _record: delivered.append(error),
    )
    assert rdkafka.flush(30) == 0
    assert delivered == [None], "librdkafka's delivery report: no error"
    ids[event.get_id()] = via_rdkafka

    for subject in traces:
        _visible(stack, subject)
    logged = _records(bootstrap, log_topic(prefix), set(ids))
    for event_id, record in logged.items():
        value = json.loads(record.value)
        assert value["traceparent"] == traces[ids[event_id]]
        assert SECRET_NAME.encode() not in record.value, "sealed like any other event"
        assert "ct" in value["data"]["personal"]
