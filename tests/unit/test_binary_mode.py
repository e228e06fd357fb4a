"""Binary content mode and trace headers map to the structured form the contract checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent

from events.binary_mode import http_binary, kafka_inbound
from events.codec import parse_inbound
from events.errors import ContractError
from tests.unit.test_cloudevents_sdk import ATTRIBUTES, DATA

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _event(**extra: Any) -> CloudEvent:
    return CloudEvent(attributes=dict(ATTRIBUTES) | extra, data=dict(DATA))


def test_kafka_binary_mode_parses_like_structured() -> None:
    message = ce_kafka.to_binary_event(_event(traceparent=TRACE))
    event = parse_inbound(
        kafka_inbound(message.value, message.headers.items()), inbox_agency="it_ngo"
    )
    assert event.data.personal.full_name == "Ada Example"  # type: ignore[attr-defined]
    assert event.traceparent == TRACE
    assert event.to_cloudevent()["traceparent"] == TRACE


def test_http_binary_mode_parses_like_structured() -> None:
    message = ce_http.to_binary_event(_event(tracestate="congo=t61rcWkgMzE"))
    raw = http_binary(dict(message.headers), message.body)
    assert raw is not None
    assert parse_inbound(raw, inbox_agency="it_ngo").tracestate == "congo=t61rcWkgMzE"


def test_structured_records_pass_unchanged_unless_trace_headers_come() -> None:
    message = ce_kafka.to_structured_event(_event())
    assert kafka_inbound(message.value, message.headers.items()) == message.value
    assert http_binary(dict(ce_http.to_structured_event(_event()).headers), b"{}") is None
    traced = kafka_inbound(
        message.value, [*message.headers.items(), ("traceparent", TRACE.encode())]
    )
    assert json.loads(traced)["traceparent"] == TRACE
    own = ce_kafka.to_structured_event(_event(traceparent=TRACE))
    other = "00-00000000000000000000000000000001-0000000000000001-00"
    kept = kafka_inbound(own.value, [("traceparent", other.encode())])
    assert json.loads(kept)["traceparent"] == TRACE, "the event's own trace wins"


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({"content-type": b"text/plain"}, "datacontenttype"),
        ({"ce_subject": b"\xff\xfe"}, ""),
        ({"ce_traceparent": b"not-a-trace"}, "traceparent"),
        ({"ce_color": b"blue"}, ""),
    ],
)
def test_bad_binary_records_are_refused_with_a_path(headers: dict[str, bytes], path: str) -> None:
    message = ce_kafka.to_binary_event(_event())
    merged = dict(message.headers) | headers
    with pytest.raises(ContractError) as caught:
        parse_inbound(kafka_inbound(message.value, merged.items()), inbox_agency="it_ngo")
    assert caught.value.errors[0].path == path
    assert "blue" not in str(caught.value)
