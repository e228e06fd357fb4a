"""Bytes <-> :class:`~events.envelope.Event`, with the input checks in their fixed order.

Inbound checks, first failure wins (docs/architecture.md, Input checks): size
-> JSON -> storable text (no NUL, no unpaired surrogate, 64-bit integers;
``schema_violation``) -> envelope (incl. ``missing_subject``) -> agency
(``agency``, ``source`` and the inbox agree; optionally registered) -> known
type (system types are reserved) -> ``data`` schema -> time window
(``schema_violation``; ``events.storable``).  Log records are read with the
same steps after upcasting, with personal fields required in sealed form,
but without the storable and window checks: what was accepted stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson
from pydantic import BaseModel, ValidationError

from events.canonical import canonical_json
from events.envelope import Envelope, Event, source_agency
from events.errors import ContractError, FieldError, RejectReason, field_errors
from events.jsonload import load_json
from events.limits import MAX_EVENT_BYTES
from events.registry import REGISTRY, TypeRegistry
from events.storable import may_be_unstorable, text_errors, time_errors
from events.types import EventData
from events.upcasting import UPCASTERS, Upcasters
from events.wire import wire_model

AnyEvent = Event[EventData]
#: The parametrised class, looked up once (``Event[EventData]`` costs a cache lookup per call).
_EVENT: type[AnyEvent] = Event[EventData]
#: ``is_known_agency``: whether an agency id is registered.
AgencyCheck = Callable[[str], bool]
INVALID_JSON: Final = RejectReason.INVALID_JSON
AGENCY_MISMATCH: Final = RejectReason.AGENCY_MISMATCH
_ATTRIBUTES: Final = (
    "id",
    "source",
    "subject",
    "time",
    "agency",
    "jurisdiction",
    "traceparent",
    "tracestate",
)


def _fail(reason: RejectReason, path: str, message: str, code: str = "invalid") -> ContractError:
    return ContractError(reason, [FieldError(path, message, code)])


def _validate_json(
    model: type[BaseModel], value: Any, prefix: str, text: bytes | str | None = None
) -> Any:
    # Validation runs on JSON text (``text`` when the caller has it): strict
    # mode then reads RFC 3339 strings as times, exactly as the JSON Schema does.
    try:
        text = json.dumps(value, allow_nan=False) if text is None else text
    except (TypeError, ValueError):
        raise _fail(INVALID_JSON, "", "not representable as JSON") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = field_errors(exc, prefix)
    if any(e.code == "json_invalid" for e in errors):
        raise _fail(INVALID_JSON, "", "not valid JSON (unpaired surrogate)")
    raise ContractError(RejectReason.SCHEMA_VIOLATION, errors)


def _envelope(obj: Mapping[str, Any], *, from_agency: bool, raw: bytes | None = None) -> Envelope:
    envelope: Envelope = _validate_json(Envelope, obj, "", raw)
    _envelope_rules(envelope, from_agency=from_agency)
    return envelope


def _envelope_rules(envelope: Envelope, *, from_agency: bool) -> None:
    if (envelope.agency is None or envelope.jurisdiction is None) and (
        from_agency or source_agency(envelope.source) is not None
    ):
        absent = [n for n in ("agency", "jurisdiction") if getattr(envelope, n) is None]
        if absent:
            missing = [FieldError(name, "required", "missing") for name in absent]
            raise ContractError(RejectReason.SCHEMA_VIOLATION, missing)
    if from_agency and envelope.subject is None:
        raise _fail(RejectReason.MISSING_SUBJECT, "subject", "required", "missing")


def _check_agency(envelope: Envelope, inbox: str | None, known: AgencyCheck | None) -> None:
    if envelope.agency != source_agency(envelope.source):
        raise _fail(AGENCY_MISMATCH, "agency", "must be the agency named in source")
    if inbox is not None and envelope.agency != inbox:
        raise _fail(AGENCY_MISMATCH, "agency", "must be the agency of the inbox or caller")
    if known is not None and envelope.agency is not None and not known(envelope.agency):
        raise _fail(RejectReason.UNKNOWN_AGENCY, "agency", "is not a registered agency")


def _check_type(envelope: Envelope, registry: TypeRegistry) -> type[EventData]:
    model = registry.get(envelope.type)
    if model is None:
        raise _fail(RejectReason.UNKNOWN_TYPE, "type", "unknown event type")
    if model.system and envelope.agency is not None:
        raise _fail(RejectReason.RESERVED_TYPE, "type", "system types are produced by Haven")
    if not model.system and envelope.agency is None:
        raise _fail(AGENCY_MISMATCH, "source", "this type must come from an agency")
    if model.requires_subject and envelope.subject is None:
        raise _fail(RejectReason.MISSING_SUBJECT, "subject", "required", "missing")
    expected = registry.schema_uri(envelope.type)
    if envelope.dataschema not in (None, expected):
        raise _fail(RejectReason.SCHEMA_VIOLATION, "dataschema", f"must be {expected}")
    return model


def _build(envelope: Envelope, data: EventData) -> AnyEvent:
    """The event of a validated envelope and data, with no second validation pass.

    What ``model_construct`` does for this model, at a sixth of its cost (the
    sealer and the engine build one per event): every field is given, and the
    model has no extra fields, private attributes or post-init (checked below).
    """
    values = {name: getattr(envelope, name) for name in _ATTRIBUTES}
    values["data"] = data
    event = _NEW(_EVENT)
    _SET(event, "__dict__", values)
    _SET(event, "__pydantic_fields_set__", set(values))
    _SET(event, "__pydantic_extra__", None)
    _SET(event, "__pydantic_private__", None)
    return event


_NEW, _SET = object.__new__, object.__setattr__
if set(_EVENT.model_fields) != {*_ATTRIBUTES, "data"} or _EVENT.__pydantic_post_init__:
    raise TypeError("Event's fields changed: _build must set what model_construct would")
if _EVENT.__private_attributes__:
    raise TypeError("Event has private attributes: _build must set them")


def _fast_wire(
    obj: Mapping[str, Any], raw: bytes | None, registry: TypeRegistry, *, log: bool = False
) -> Any:
    """One validation pass over the raw bytes for a valid event of a known type: an
    agency's event (``log`` False: no system type) or a log record (``log``: sealed data).

    Any failure returns None, and the step-by-step checks then find the first
    failing check in the fixed order; so the fast path changes speed, never answers.
    """
    event_type = obj.get("type")
    model = registry.get(event_type) if raw is not None and isinstance(event_type, str) else None
    if model is None or raw is None or (model.system and not log):
        return None
    try:
        wire = wire_model(registry.data_model(model.event_type, sealed=log))
        return wire.model_validate_json(raw)
    except ValidationError:
        return None


def _inbound(
    obj: Mapping[str, Any],
    raw: bytes | None,
    inbox_agency: str | None,
    is_known_agency: AgencyCheck | None,
    registry: TypeRegistry,
) -> AnyEvent:
    unstorable = text_errors(obj) if may_be_unstorable(raw) else ()
    if unstorable:
        raise ContractError(RejectReason.SCHEMA_VIOLATION, unstorable)
    fast = _fast_wire(obj, raw, registry)
    if fast is not None:
        # Envelope and data are valid: the remaining checks, in their usual order.
        _envelope_rules(fast, from_agency=True)
        _check_agency(fast, inbox_agency, is_known_agency)
        _check_type(fast, registry)
        return _in_window(_build(fast, fast.data))
    envelope = _envelope(obj, from_agency=True, raw=raw)
    _check_agency(envelope, inbox_agency, is_known_agency)
    model = _check_type(envelope, registry)
    return _in_window(_build(envelope, _validate_json(model, envelope.data, "data")))


def _in_window(event: AnyEvent) -> AnyEvent:
    outside = time_errors(event.time, event.data)
    if outside:
        raise ContractError(RejectReason.SCHEMA_VIOLATION, outside)
    return event


def parse_dict(
    obj: Mapping[str, Any],
    *,
    inbox_agency: str | None = None,
    is_known_agency: AgencyCheck | None = None,
    registry: TypeRegistry = REGISTRY,
) -> AnyEvent:
    """Validate an inbound event already decoded from JSON (e.g. by the HTTP gateway).

    The caller owns the size limit and duplicate-key detection of its decoder.
    """
    return _inbound(obj, None, inbox_agency, is_known_agency, registry)


def parse_inbound(
    raw: bytes,
    *,
    inbox_agency: str | None = None,
    max_bytes: int = MAX_EVENT_BYTES,
    is_known_agency: AgencyCheck | None = None,
    registry: TypeRegistry = REGISTRY,
) -> AnyEvent:
    """Validate one structured-mode CloudEvent from an agency (raises ContractError).

    ``inbox_agency`` is the agency of the inbox topic or the authenticated
    caller; ``is_known_agency`` tells whether an agency id is registered.
    """
    if len(raw) > max_bytes:
        raise _fail(RejectReason.TOO_LARGE, "", f"an event must not exceed {max_bytes} bytes")
    return _inbound(load_json(raw), raw, inbox_agency, is_known_agency, registry)


def parse_log_dict(
    obj: Mapping[str, Any],
    *,
    registry: TypeRegistry = REGISTRY,
    upcasters: Upcasters = UPCASTERS,
    raw: bytes | None = None,
) -> AnyEvent:
    """Read a canonical (sealed) log event, upcast to the newest version.

    ``raw``: the JSON text ``obj`` was loaded from (strictly, by ``load_json``),
    validated as it is when no upcaster changes the event: in one pass, envelope
    and sealed data together (:func:`_fast_wire`), and when that fails, step by
    step, which names the first failing check.
    """
    current = raw if upcasters.is_current(obj) else None
    fast = _fast_wire(obj, current, registry, log=True)
    if fast is not None:
        # Envelope and sealed data are valid: the remaining checks, in their usual order.
        _envelope_rules(fast, from_agency=False)
        _check_agency(fast, None, None)
        _check_type(fast, registry)
        return _build(fast, fast.data)
    envelope = _envelope(upcasters.upcast(obj), from_agency=False, raw=current)
    _check_agency(envelope, None, None)
    model = _check_type(envelope, registry)
    sealed = registry.data_model(model.event_type, sealed=True)
    return _build(
        envelope, _validate_json(sealed, envelope.data, "data", _json_text(envelope.data))
    )


def _json_text(value: Any) -> bytes | str:
    """JSON text of a value the envelope parse produced (so no NaN or Infinity), by
    orjson; what it refuses (beyond 64 bits, an unpaired surrogate) by ``json``."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, allow_nan=False)


def parse_log_record(
    raw: bytes, *, registry: TypeRegistry = REGISTRY, upcasters: Upcasters = UPCASTERS
) -> AnyEvent:
    """Read one record of the canonical log (``haven.log.v1``).

    The log holds Haven's canonical JSON only, whose encoder writes each key
    once, so it is read with orjson (several times faster than the strict
    loader of inbound events; any other change to a record is the ledger's
    to find).  What orjson refuses, or a record that is not an object, goes
    through the strict loader, which names the error.
    """
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        obj = load_json(raw)
    return parse_log_dict(obj, registry=registry, upcasters=upcasters, raw=raw)


def encode(event: Event[Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same event always gives the same bytes."""
    return canonical_json(event.to_cloudevent())
