"""The gateway's checks, in the order of docs/architecture.md, with the sealer's own validation.

Size and authentication run in the route; here: the media type (415), JSON,
then per event the envelope and agency, known type and schema (``events.codec.parse_dict``, the
code the sealer runs).  A batch is all or nothing: one bad event refuses
the whole batch, with every bad event's field paths prefixed by its index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.codec import parse_dict
from events.envelope import Event
from events.errors import ContractError, FieldError, RejectReason
from events.jsonload import load_json_value
from events.limits import MAX_EVENT_BYTES
from services.api.models import Problem

MAX_BODY_BYTES = MAX_EVENT_BYTES
MAX_BATCH = 1000
#: Accepted ``Content-Type``s and the body each carries: one event (False), a
#: batch (True), or either (None).
MEDIA_TYPES: dict[str, bool | None] = {
    "application/cloudevents+json": False,
    "application/cloudevents-batch+json": True,
    "application/json": None,
}
_MEDIA_MESSAGE = "Content-Type must be " + ", ".join(MEDIA_TYPES) + " (charset utf-8 if given)"
_SHAPE_MESSAGES = {
    False: "application/cloudevents+json carries one event (a JSON object)",
    True: "application/cloudevents-batch+json carries a JSON array of events",
}


@dataclass(frozen=True)
class Outgoing:
    """One accepted event, to be sealed and written to the sealed outbox."""

    event_id: str
    subject: str
    event: Event[Any]


class Refused(Exception):
    """The request is refused with ``status`` and a problem document."""

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.status = status
        self.problem = problem


def _contract_refusal(error: ContractError, prefix: str = "") -> Refused:
    status = 403 if error.reason is RejectReason.AGENCY_MISMATCH else 422
    errors = tuple(FieldError(_join(prefix, e.path), e.message, e.code) for e in error.errors)
    return Refused(status, Problem.of(error.reason.value, errors))


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path


def body_shape(content_type: str | None) -> bool | None:
    """What the body must hold by its ``Content-Type`` (see :data:`MEDIA_TYPES`), else 415."""
    media, *params = (part.strip().lower() for part in (content_type or "").split(";"))
    charset = [p.split("=", 1)[1].strip('"') for p in params if p.startswith("charset=")]
    if media not in MEDIA_TYPES or any(c not in ("utf-8", "utf8") for c in charset):
        problem = Problem.of("unsupported_media_type", (FieldError("", _MEDIA_MESSAGE),))
        raise Refused(415, problem)
    return MEDIA_TYPES[media]


def _events(raw: bytes, shape: bool | None) -> tuple[list[Any], bool]:
    try:
        value = load_json_value(raw)
    except ContractError as error:
        raise _contract_refusal(error) from None
    if shape is not None and isinstance(value, list) is not shape:
        raise Refused(422, Problem.of("invalid_batch", (FieldError("", _SHAPE_MESSAGES[shape]),)))
    if isinstance(value, list):
        if not value or len(value) > MAX_BATCH:
            message = f"a batch holds 1 to {MAX_BATCH} events"
            raise Refused(422, Problem.of("invalid_batch", (FieldError("", message),)))
        return value, True
    return [value], False


def _one(obj: Any, agency_id: str) -> Outgoing:
    if not isinstance(obj, dict):
        reason = RejectReason.INVALID_JSON
        raise ContractError(reason, [FieldError("", "an event must be a JSON object")])
    event = parse_dict(obj, inbox_agency=agency_id)
    return Outgoing(event.id, str(event.subject), event)


def validate_events(raw: bytes, agency_id: str, shape: bool | None = None) -> list[Outgoing]:
    """The events of a request body from ``agency_id``, or :class:`Refused`.

    ``shape`` is what the media type announced (:func:`body_shape`).
    """
    items, batch = _events(raw, shape)
    accepted: list[Outgoing] = []
    refusals: list[Refused] = []
    for index, obj in enumerate(items):
        try:
            accepted.append(_one(obj, agency_id))
        except ContractError as error:
            refusals.append(_contract_refusal(error, f"[{index}]" if batch else ""))
    if not refusals:
        return accepted
    status = 403 if any(r.status == 403 for r in refusals) else 422
    reasons = {r.problem.reason for r in refusals}
    reason = refusals[0].problem.reason if len(reasons) == 1 else "invalid_batch"
    errors = [field for r in refusals for field in r.problem.errors]
    raise Refused(status, Problem(reason=reason, errors=errors))
