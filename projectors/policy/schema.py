"""The policy's JSON Schema and its errors, translated into specific findings."""

from __future__ import annotations

import json
import reprlib
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from projectors.policy.checks import Finding, join

_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxlist, _SHORT.maxdict = 60, 4, 3
_KINDS = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
          float: "number", type(None): "empty value"}  # fmt: skip
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "boolean": "a boolean",
          "integer": "an integer", "number": "a number"}  # fmt: skip


def policy_schema_path() -> Path:
    """Where ``policy.schema.json`` is (next to the default policy)."""
    return Path(__file__).resolve().parents[2] / "contracts" / "policy" / "policy.schema.json"


@cache
def policy_validator() -> Draft202012Validator:
    """A validator of the committed policy JSON Schema."""
    schema = json.loads(policy_schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_findings(data: Any) -> list[Finding]:
    """Every JSON-Schema error of ``data``, each as a specific finding."""
    found: list[Finding] = []
    for error in policy_validator().iter_errors(data):
        found.extend(_describe(error))
    return found


def _short(value: Any) -> str:
    kind = _KINDS.get(type(value), type(value).__name__)
    return f"{kind} {_SHORT.repr(value)}" if value is not None else kind


def _describe(error: ValidationError) -> list[Finding]:
    path = tuple(error.absolute_path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    value: Any = error.instance
    wanted: Any = error.validator_value
    title = schema.get("title")
    if "propertyNames" in error.relative_schema_path:
        what = f"unknown {title}" if title else "invalid key"
        choices = f"; expected one of: {join(wanted)}" if error.validator == "enum" else ""
        return [Finding((*path, value), f"{what} {value!r}{choices}", at_key=True)]
    if error.validator == "additionalProperties":
        allowed = schema.get("properties", {})
        return [Finding((*path, key), f"unknown key {key!r}; allowed keys: {join(allowed)}",
                        at_key=True) for key in value if key not in allowed]  # fmt: skip
    if error.validator == "required":
        noun = "entry for agency type" if path == ("agency_types",) else "required key"
        return [Finding(path, f"missing {noun} {key!r}") for key in wanted if key not in value]
    if error.validator in ("anyOf", "oneOf"):
        deeper = [sub for sub in error.context or () if sub.relative_path]
        if deeper:
            return [finding for sub in deeper for finding in _describe(sub)]
        expected = schema.get("description") or title or "another value"
        return [Finding(path, f"expected {expected}, got {_short(value)}")]
    return [Finding(path, _message(error.validator, title, value, wanted))]


def _message(validator: Any, title: Any, value: Any, wanted: Any) -> str:
    if validator == "type":
        types = [wanted] if isinstance(wanted, str) else wanted
        return f"expected {' or '.join(_TYPES.get(t, t) for t in types)}, got {_short(value)}"
    if validator == "enum":
        what = f"unknown {title}" if title else "unexpected value"
        return f"{what} {value!r}; expected one of: {', '.join(map(str, wanted))}"
    if validator == "pattern":
        return f"invalid {title or 'value'} {value!r}" + ("" if title else f" (pattern {wanted})")
    if validator == "minItems":
        return f"expected at least {wanted} item(s), got {len(value)}"
    if validator == "uniqueItems":
        return f"the list has duplicate items: {_short(value)}"
    if validator in ("minProperties", "minLength"):
        return "must not be empty"
    return f"{_short(value)} fails {validator} {wanted!r}"
