"""What PostgreSQL can store: refused at the door as ``schema_violation``.

Checked on every inbound event (gateway and sealer run the same code, in
:mod:`events.codec`), never on log records, so a replay reads what was
accepted.  Two steps:

- :func:`text_errors`, right after JSON: no string or object key anywhere may
  hold the NUL character (``text``/``jsonb`` cannot) or an unpaired UTF-16
  surrogate (not UTF-8); integers must fit a signed 64-bit column.  The
  walk runs only when the JSON text holds an escape (:func:`may_be_unstorable`).
- :func:`time_errors`, after the data schema: times and dates lie in a sane
  window (docs/contracts.md "Input checks, reasons and their order").  A recorded act (the
  envelope ``time``, ``identified_at``, ...) lies between :data:`EARLIEST`
  and one day after now; a planned time (a model's ``planned_times``, such as
  ``expires_at`` or ``valid_until``) between :data:`EARLIEST` and
  :data:`LATEST_PLANNED`.

Errors name the path and a fixed message, never the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Final, get_args

from pydantic import AwareDatetime, BaseModel

from events.envelope import Envelope
from events.errors import FieldError, error_path
from events.types import EVENT_MODELS

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_PLANNED: Final = datetime(2200, 1, 1, tzinfo=UTC)
FUTURE_SKEW: Final = timedelta(days=1)
NUL_MESSAGE: Final = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE: Final = "must not contain an unpaired surrogate (U+D800 to U+DFFF)"
KEY_MESSAGE: Final = "holds an object key with NUL or an unpaired surrogate"
INT_MESSAGE: Final = "must be a whole number from -2^63 to 2^63-1"


def may_be_unstorable(raw: bytes | None) -> bool:
    """False when JSON text ``raw`` holds no escape, so no NUL and no surrogate.

    In JSON text both can only be ``\\u`` escapes (a raw control character is
    invalid JSON, an encoded surrogate invalid UTF-8).  Integers are then left
    to the contract's types: it has no number field, so any number is refused.
    """
    return raw is None or b"\\u" in raw


def _text_problem(value: str) -> FieldError | None:
    if "\x00" in value:
        return FieldError("", NUL_MESSAGE, "nul_character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return FieldError("", SURROGATE_MESSAGE, "lone_surrogate")
    return None


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from _models_in(argument)


@cache
def contract_names() -> frozenset[str]:
    """Every field name of the envelope and of every model (nested ones too)."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [Envelope, *EVENT_MODELS]
    while todo:
        model = todo.pop()
        seen.add(model)
        names.update(model.model_fields)
        for info in model.model_fields.values():
            todo.extend(m for m in _models_in(info.annotation) if m not in seen)
    return frozenset(names)


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, problem) pairs; the problem is a message key for ``_ERRORS``.

    A key that is no field name of the contract is not put in the path: an
    unknown key may itself be personal (the path stops at its object).
    """
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem is not None:
            yield loc, problem.code
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            yield loc, "int_range"
    elif isinstance(value, dict):
        if any(_text_problem(key) is not None for key in value):
            yield loc, "unstorable_key"
        for key, item in value.items():
            yield from _walk(item, (*loc, key) if key in contract_names() else loc)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


_ERRORS: Final = {
    "nul_character": NUL_MESSAGE,
    "lone_surrogate": SURROGATE_MESSAGE,
    "unstorable_key": KEY_MESSAGE,
    "int_range": INT_MESSAGE,
}


def text_errors(document: Any, prefix: str = "") -> tuple[FieldError, ...]:
    """Every string, key or integer of a decoded JSON document Postgres cannot store."""
    found: list[FieldError] = []
    for loc, code in _walk(document, ()):
        item = FieldError(error_path(loc, prefix), _ERRORS[code], code)
        if item not in found:
            found.append(item)
    return tuple(found)


def _window(value: datetime | date, planned: bool, latest: datetime) -> str | None:
    """Why ``value`` lies outside its window (``latest``: now plus the allowed skew)."""
    moment = (
        value
        if isinstance(value, datetime)
        else datetime(value.year, value.month, value.day, tzinfo=UTC)
    )
    if moment < EARLIEST:
        return f"must not be before {EARLIEST.date().isoformat()}"
    if planned:
        if moment >= LATEST_PLANNED:
            return f"must be before {LATEST_PLANNED.date().isoformat()}"
    elif moment > latest:
        return "must not be more than one day in the future"
    return None


@cache
def time_fields(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """(name, planned) of the fields that hold a time or date, or a model that may."""
    planned: frozenset[str] = getattr(model, "planned_times", frozenset())
    return tuple(
        (name, name in planned)
        for name, info in model.model_fields.items()
        if _holds_time(info.annotation)
    )


def _holds_time(annotation: Any) -> bool:
    # ``AwareDatetime`` is pydantic's marker class, not a ``datetime`` subclass.
    if annotation is AwareDatetime:
        return True
    if isinstance(annotation, type) and issubclass(annotation, date | BaseModel):
        return True
    return any(_holds_time(argument) for argument in get_args(annotation))


def _times(model: BaseModel, prefix: str, latest: datetime, found: list[FieldError]) -> None:
    """Add the errors of ``model``'s times (and its models' ones) to ``found``; a field's
    path is only built for an error (the sealer checks every inbound event)."""
    for name, planned in time_fields(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            _times(value, f"{prefix}.{name}" if prefix else name, latest, found)
        elif isinstance(value, date):
            message = _window(value, planned, latest)
            if message is not None:
                path = f"{prefix}.{name}" if prefix else name
                found.append(FieldError(path, message, "time_window"))


def time_errors(
    envelope_time: datetime, data: BaseModel, now: datetime | None = None
) -> tuple[FieldError, ...]:
    """The times of a validated inbound event outside the sane window."""
    latest = (now or datetime.now(UTC)) + FUTURE_SKEW
    found: list[FieldError] = []
    message = _window(envelope_time, False, latest)
    if message is not None:
        found.append(FieldError("time", message, "time_window"))
    _times(data, "data", latest, found)
    return tuple(found)
