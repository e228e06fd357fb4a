"""CloudEvents as SDKs send them: binary content mode and W3C trace context.

In binary mode the attributes travel as headers (``ce_<name>`` on Kafka,
``ce-<name>`` on HTTP), ``content-type`` is the data's media type and the
record value or request body is the ``data`` alone.  This module turns such
a record into the structured-mode JSON object Haven validates, so both modes
go through the same contract checks.  Structured mode is chosen by a
``content-type`` of ``application/cloudevents+json`` (or no ``ce_specversion``
header at all).

``traceparent`` and ``tracestate`` (W3C Trace Context, the CloudEvents
distributed-tracing extension) are envelope attributes carried to the log;
plain ``traceparent``/``tracestate`` headers are copied into an event that
does not already carry them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from events.envelope import DATA_CONTENT_TYPE
from events.errors import ContractError, FieldError, RejectReason
from events.jsonload import load_json_value

TRACE_HEADERS = ("traceparent", "tracestate")
KAFKA_PREFIX = "ce_"
HTTP_PREFIX = "ce-"


def _invalid(path: str, message: str) -> ContractError:
    return ContractError(RejectReason.INVALID_JSON, [FieldError(path, message, "invalid")])


def is_binary(headers: Mapping[str, str], prefix: str) -> bool:
    """True when the attributes travel as headers (binary content mode)."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return f"{prefix}specversion" in headers and not content_type.startswith(
        "application/cloudevents"
    )


def structured_from_binary(
    headers: Mapping[str, str], data: bytes, prefix: str, decode: Callable[[str], str] = str
) -> dict[str, Any]:
    """The structured-mode object of a binary-mode record (raises ContractError)."""
    content_type = headers.get("content-type", DATA_CONTENT_TYPE).split(";")[0].strip().lower()
    if content_type != DATA_CONTENT_TYPE:
        raise _invalid("datacontenttype", f"binary mode must carry {DATA_CONTENT_TYPE} data")
    event: dict[str, Any] = {
        name[len(prefix) :]: decode(value)
        for name, value in headers.items()
        if name.startswith(prefix)
    }
    event["datacontenttype"] = DATA_CONTENT_TYPE
    event["data"] = load_json_value(data)
    with_trace(event, headers)
    return event


def with_trace(event: Any, headers: Mapping[str, str]) -> Any:
    """``event`` with the trace headers' values for the attributes it lacks."""
    if isinstance(event, dict):
        for name in TRACE_HEADERS:
            if name in headers and event.get(name) is None:
                event[name] = headers[name]
    return event


def kafka_headers(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka record headers by lower-case name, values as UTF-8 text."""
    found: dict[str, str] = {}
    for name, value in headers or ():
        try:
            found[name.lower()] = (value or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("", "record headers must be UTF-8 text") from None
    return found


def kafka_inbound(value: bytes, headers: Iterable[tuple[str, bytes]] | None) -> bytes:
    """The structured-mode bytes of an inbox record (unchanged when nothing to add)."""
    found = kafka_headers(headers)
    if is_binary(found, KAFKA_PREFIX):
        event = structured_from_binary(found, value, KAFKA_PREFIX)
    elif any(name in found for name in TRACE_HEADERS):
        event = with_trace(load_json_value(value), found)
    else:
        return value
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def http_binary(headers: Mapping[str, str], body: bytes) -> bytes | None:
    """The structured-mode bytes of a binary-mode HTTP request, None in structured mode."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if not is_binary(lowered, HTTP_PREFIX):
        return None
    event = structured_from_binary(lowered, body, HTTP_PREFIX, unquote)
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


__all__ = [
    "TRACE_HEADERS",
    "http_binary",
    "is_binary",
    "kafka_inbound",
    "structured_from_binary",
    "with_trace",
]
