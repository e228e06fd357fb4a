"""Contract errors: a machine-readable reason plus field paths, never values.

Messages are fixed texts chosen per error code, built only from the schema
(lengths, patterns, allowed values), never from the input: a rejected event
often carries personal data, and reasons end up in logs, the DLQ and the
producer's ``refusals``.  Unknown field names are not echoed either (the path
names the object that holds them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails


class RejectReason(StrEnum):
    """Why an event was rejected (the first failing check decides)."""

    TOO_LARGE = "too_large"
    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    AGENCY_MISMATCH = "agency_mismatch"
    UNKNOWN_AGENCY = "unknown_agency"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_SUBJECT = "missing_subject"
    RESERVED_TYPE = "reserved_type"


@dataclass(frozen=True)
class FieldError:
    """One problem at one place: ``path`` like ``data.personal.full_name``,
    ``data.nationality[0]`` or ``time`` (``""`` is the whole event)."""

    path: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        """JSON-able form."""
        return {"path": self.path, "message": self.message, "code": self.code}


class ContractError(Exception):
    """An event does not satisfy the contract."""

    def __init__(self, reason: RejectReason, errors: Iterable[FieldError] = ()) -> None:
        self.reason = reason
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(self._summary())

    def _summary(self) -> str:
        details = "; ".join(f"{e.path or '(event)'}: {e.message}" for e in self.errors)
        return f"{self.reason.value}: {details}" if details else self.reason.value

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form: ``{"reason": ..., "errors": [{path, message, code}]}``."""
        return {"reason": self.reason.value, "errors": [e.to_dict() for e in self.errors]}


_TEMPLATES: Final[Mapping[str, str]] = {
    "missing": "required",
    "extra_forbidden": "unknown field (its name is not echoed)",
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "literal_error": "must be {expected}",
    "enum": "must be one of {expected}",
    "datetime_type": "must be an RFC 3339 date-time with zone",
    "datetime_parsing": "must be a valid RFC 3339 date-time with zone",
    "datetime_from_date_parsing": "must be a valid RFC 3339 date-time with zone",
    "timezone_aware": "must be an RFC 3339 date-time with zone",
    "date_type": "must be an RFC 3339 full-date (YYYY-MM-DD)",
    "date_parsing": "must be a valid RFC 3339 full-date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a valid RFC 3339 full-date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a valid RFC 3339 full-date (YYYY-MM-DD)",
    "json_invalid": "not valid JSON",
}
#: Context keys that come from the schema, never from the input.
_SCHEMA_CONTEXT: Final = ("min_length", "max_length", "pattern", "expected")
#: Error codes raised by Haven's own validators: their messages are fixed texts.
_OWN_CODES: Final = frozenset(
    {
        "country_code",
        "rfc3339_datetime",
        "rfc3339_date",
        "no_recipient_selector",
        "withdrawal_scope",
    }
)


def _is_field_name(part: str | int) -> bool:
    # pydantic adds union member labels such as "function-after[...]" or our
    # tags ("scope-all") to ``loc``; field names are always identifiers.
    return isinstance(part, int) or part.isidentifier()


def error_path(loc: Iterable[str | int], prefix: str = "") -> str:
    """``("personal", "full_name")`` -> ``data.personal.full_name`` (prefix ``data``)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _is_field_name(part):
            path = f"{path}.{part}" if path else part
    return path


def _message(error: ErrorDetails) -> str:
    code = error["type"]
    if code in _OWN_CODES:
        return error["msg"]
    template = _TEMPLATES.get(code)
    if template is None:
        return f"invalid value ({code})"
    context = error.get("ctx", {})
    safe = {key: context[key] for key in _SCHEMA_CONTEXT if key in context}
    try:
        return template.format(**safe)
    except (KeyError, IndexError):
        return template.split(" {", 1)[0]


def field_errors(exc: ValidationError, prefix: str = "") -> tuple[FieldError, ...]:
    """Convert a pydantic error into field errors without input values."""
    found: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        loc = list(error["loc"])
        if error["type"] == "extra_forbidden" and loc:
            loc = loc[:-1]  # the unknown key itself may be personal
        item = FieldError(error_path(loc, prefix), _message(error), error["type"])
        if item not in found:
            found.append(item)
    return tuple(found)
