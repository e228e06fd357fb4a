"""Bytes <-> :class:`~events.envelope.Event`, with the input checks in their fixed order.

Inbound checks, first failure wins (DESIGN.md, Envelope): size -> JSON ->
envelope (incl. ``missing_subject``) -> agency (``agency``, ``source`` and the
inbox agree; optionally registered) -> known type (system types are
reserved) -> ``data`` schema.  Log records are read with the same steps after
upcasting, with personal fields required in sealed form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from events.envelope import DATA_CONTENT_TYPE, SPECVERSION, Envelope, Event, source_agency
from events.errors import ContractError, FieldError, RejectReason, field_errors
from events.registry import REGISTRY, TypeRegistry
from events.types import EventData
from events.upcasting import UPCASTERS, Upcasters

MAX_EVENT_BYTES: Final = 1_048_576
AnyEvent = Event[EventData]


def _fail(reason: RejectReason, path: str, message: str, code: str = "invalid") -> ContractError:
    return ContractError(reason, [FieldError(path, message, code)])


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate object key")
    return result


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _reject_constant(_: str) -> float:
    raise ValueError("NaN and Infinity are not JSON")


def load_json(raw: bytes) -> dict[str, Any]:
    """Strict UTF-8 JSON object: no duplicate keys, no NaN/Infinity (``invalid_json``)."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise _fail(
            RejectReason.INVALID_JSON, "", f"not valid JSON (line {exc.lineno} column {exc.colno})"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail(
            RejectReason.INVALID_JSON, "", "not valid UTF-8 JSON without duplicate keys"
        ) from None
    if not isinstance(value, dict):
        raise _fail(RejectReason.INVALID_JSON, "", "an event must be a JSON object")
    return value


def _validate_json(model: type[BaseModel], value: Any, prefix: str) -> Any:
    # Validation runs on JSON text: strict mode then accepts RFC 3339 strings
    # for times, exactly as the JSON Schema does.
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise _fail(RejectReason.INVALID_JSON, "", "not representable as JSON") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = field_errors(exc, prefix)
    if any(e.code == "json_invalid" for e in errors):
        raise _fail(RejectReason.INVALID_JSON, "", "not valid JSON (unpaired surrogate)")
    raise ContractError(RejectReason.SCHEMA_VIOLATION, errors)


def _envelope(obj: Mapping[str, Any], *, agency_required: bool) -> Envelope:
    envelope: Envelope = _validate_json(Envelope, obj, "")
    if agency_required or source_agency(envelope.source) is not None:
        missing = [
            FieldError(n, "required", "missing")
            for n in ("agency", "jurisdiction")
            if getattr(envelope, n) is None
        ]
        if missing:
            raise ContractError(RejectReason.SCHEMA_VIOLATION, missing)
    if agency_required and envelope.subject is None:
        raise _fail(RejectReason.MISSING_SUBJECT, "subject", "required", "missing")
    return envelope


def _check_agency(
    envelope: Envelope, inbox_agency: str | None, is_known_agency: Callable[[str], bool] | None
) -> None:
    if envelope.agency != source_agency(envelope.source):
        raise _fail(RejectReason.AGENCY_MISMATCH, "agency", "must be the agency named in source")
    if inbox_agency is not None and envelope.agency != inbox_agency:
        raise _fail(
            RejectReason.AGENCY_MISMATCH, "agency", "must be the agency of the inbox or caller"
        )
    if (
        is_known_agency is not None
        and envelope.agency is not None
        and not is_known_agency(envelope.agency)
    ):
        raise _fail(RejectReason.UNKNOWN_AGENCY, "agency", "is not a registered agency")


def _check_type(envelope: Envelope, registry: TypeRegistry) -> type[EventData]:
    model = registry.get(envelope.type)
    if model is None:
        raise _fail(RejectReason.UNKNOWN_TYPE, "type", "unknown event type")
    if model.system and envelope.agency is not None:
        raise _fail(
            RejectReason.RESERVED_TYPE, "type", "system event types are produced by Haven only"
        )
    if not model.system and envelope.agency is None:
        raise _fail(
            RejectReason.AGENCY_MISMATCH, "source", "this event type must come from an agency"
        )
    if model.requires_subject and envelope.subject is None:
        raise _fail(RejectReason.MISSING_SUBJECT, "subject", "required", "missing")
    expected = registry.schema_uri(envelope.type)
    if envelope.dataschema is not None and envelope.dataschema != expected:
        raise _fail(
            RejectReason.SCHEMA_VIOLATION, "dataschema", f"must be {expected}", "dataschema"
        )
    return model


def _build(envelope: Envelope, data: EventData) -> AnyEvent:
    fields = envelope.model_dump(
        include={"id", "source", "subject", "time", "agency", "jurisdiction"}
    )
    return Event[EventData](**fields, data=data)


def parse_dict(
    obj: Mapping[str, Any],
    *,
    inbox_agency: str | None = None,
    is_known_agency: Callable[[str], bool] | None = None,
    registry: TypeRegistry = REGISTRY,
) -> AnyEvent:
    """Validate an inbound event already decoded from JSON (e.g. by the HTTP gateway)."""
    envelope = _envelope(obj, agency_required=True)
    _check_agency(envelope, inbox_agency, is_known_agency)
    model = _check_type(envelope, registry)
    return _build(envelope, _validate_json(model, envelope.data, "data"))


def parse_inbound(
    raw: bytes,
    *,
    inbox_agency: str | None = None,
    max_bytes: int = MAX_EVENT_BYTES,
    is_known_agency: Callable[[str], bool] | None = None,
    registry: TypeRegistry = REGISTRY,
) -> AnyEvent:
    """Validate one structured-mode CloudEvent from an agency (raises ContractError)."""
    if len(raw) > max_bytes:
        raise _fail(RejectReason.TOO_LARGE, "", f"an event must not exceed {max_bytes} bytes")
    return parse_dict(
        load_json(raw),
        inbox_agency=inbox_agency,
        is_known_agency=is_known_agency,
        registry=registry,
    )


def parse_log_dict(
    obj: Mapping[str, Any], *, registry: TypeRegistry = REGISTRY, upcasters: Upcasters = UPCASTERS
) -> AnyEvent:
    """Read a canonical (sealed) log event, upcast to the newest version."""
    envelope = _envelope(upcasters.upcast(obj), agency_required=False)
    _check_agency(envelope, None, None)
    model = _check_type(envelope, registry)
    sealed = registry.data_model(model.event_type, sealed=True)
    return _build(envelope, _validate_json(sealed, envelope.data, "data"))


def parse_log_record(
    raw: bytes, *, registry: TypeRegistry = REGISTRY, upcasters: Upcasters = UPCASTERS
) -> AnyEvent:
    """Read one record of the canonical log (``haven.log.v1``)."""
    return parse_log_dict(load_json(raw), registry=registry, upcasters=upcasters)


def to_dict(event: Event[Any]) -> dict[str, Any]:
    """The structured-mode JSON object of an event (``null`` attributes left out)."""
    attributes = event.model_dump(mode="json", exclude={"data"}, exclude_none=True)
    return {
        **attributes,
        "specversion": SPECVERSION,
        "type": event.type,
        "datacontenttype": DATA_CONTENT_TYPE,
        "dataschema": event.dataschema,
        "data": event.data.model_dump(mode="json", exclude_none=True),
    }


def encode(event: Event[Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same event always gives the same bytes."""
    return json.dumps(
        to_dict(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
