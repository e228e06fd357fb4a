"""Generating contract instances from the JSON Schemas (hypothesis-jsonschema).

Shared by the property tests: the adapter for hypothesis-jsonschema's old
``cu.many`` API, a valid envelope around generated ``data``, and
:func:`storable`, which moves generated values into what Haven stores (no
NUL, times from 1904 to 2023), the limits the JSON Schemas do not express.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import hypothesis_jsonschema._from_schema as hjs_internal
from hypothesis.internal.conjecture import utils as conjecture_utils
from hypothesis_jsonschema import from_schema

from events.registry import REGISTRY

SUBJECT = "7d4f8a1e-3b2c-4d5e-8f90-a1b2c3d4e5f6"
_YEAR = re.compile(r"^([0-9]{4})(-[0-9]{2}-[0-9]{2}(?:T.*)?)$")


class _LegacyMany:
    """hypothesis-jsonschema 0.23.1 drives ``cu.many`` with the pre-2025 ``more()``
    API, which newer Hypothesis replaced by a context manager; this adapts it."""

    def __init__(self, data: Any, **kwargs: Any) -> None:
        self._many = conjecture_utils.many(data, **kwargs)
        self._many.__enter__()
        self._elements = iter(self._many)

    def more(self) -> bool:
        if next(self._elements, StopIteration) is StopIteration:
            self._many.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


if not hasattr(conjecture_utils.many, "more"):
    hjs_internal.cu = SimpleNamespace(many=_LegacyMany)  # type: ignore[assignment, attr-defined, unused-ignore]


def event_for(event_type: str, data: Any) -> dict[str, Any]:
    model = REGISTRY.model(event_type)
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-0001",
        "type": event_type,
        "time": "2024-05-01T10:00:00Z",
        "datacontenttype": "application/json",
        "dataschema": REGISTRY.schema_uri(event_type),
        "data": data,
    }
    if model.system:
        event["source"] = "urn:haven:system"
    else:
        event |= {
            "source": "urn:haven:agency:gr_police",
            "agency": "gr_police",
            "jurisdiction": "GR",
        }
    if model.requires_subject:
        event["subject"] = SUBJECT
    return event


def _year(match: re.Match[str]) -> str:
    # 1904 + 4k + (year % 4): a leap year stays a leap year (Feb 29 stays valid).
    year = int(match.group(1))
    return f"{1904 + year % 4 + 4 * (year // 4 % 30):04d}{match.group(2)}"


def storable(value: Any) -> Any:
    """``value`` with NUL replaced and every date/date-time year moved into 1904-2023."""
    if isinstance(value, str):
        return _YEAR.sub(_year, value.replace("\x00", "x"))
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


__all__ = ["SUBJECT", "event_for", "from_schema", "storable"]
