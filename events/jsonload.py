"""Strict JSON loading for inbound events: what ``invalid_json`` means.

Duplicate object keys are rejected (parsers disagree on which one wins, so an
event could mean different things to different readers), and so are NaN and
Infinity, which JSON does not have.
"""

from __future__ import annotations

import json
import math
from typing import Any

from events.errors import ContractError, FieldError, RejectReason


def _fail(message: str) -> ContractError:
    return ContractError(RejectReason.INVALID_JSON, [FieldError("", message, "invalid")])


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # a repeated key collapsed
        raise ValueError("duplicate object key")
    return obj


def _finite(text: str) -> float:
    if not math.isfinite(number := float(text)):
        raise ValueError("number out of range")
    return number


def _no_constants(_: str) -> float:
    raise ValueError("NaN and Infinity are not JSON")


def load_json(raw: bytes) -> dict[str, Any]:
    """Strict UTF-8 JSON object: no duplicate keys, no NaN/Infinity (``invalid_json``)."""
    value = load_json_value(raw)
    if not isinstance(value, dict):
        raise _fail("an event must be a JSON object")
    return value


#: One decoder for every call: ``json.loads`` with hooks builds a new one each time.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_float=_finite, parse_constant=_no_constants
)


def load_json_value(raw: bytes) -> Any:
    """Strict UTF-8 JSON of any shape (an event, or a batch of events)."""
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _fail(f"not valid JSON ({where})") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail("not UTF-8 JSON with unique keys") from None
    return value
