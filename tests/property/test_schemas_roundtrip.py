"""The committed JSON Schemas and the pydantic models accept and reject the same events.

For every type: instances generated from the data schema (hypothesis-jsonschema),
made storable (``schema_gen.storable``; the limits beyond the schema are tested
in ``test_storable_strings.py``) and wrapped in a valid envelope, validate
against the committed full-event schema and parse through the codec; mutated
instances fail both, and the model's ContractError points at the mutated field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from events.codec import encode, parse_inbound, parse_log_dict, parse_log_record
from events.errors import ContractError
from events.registry import REGISTRY, event_types
from events.schemas import data_schema
from events.types import personal_fields
from tests.property.schema_gen import event_for, from_schema, storable

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
PERSONAL_TYPES = [t for t in event_types() if personal_fields(REGISTRY.model(t))]
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parse(event_type: str, event: dict[str, Any]) -> Any:
    raw = json.dumps(event).encode()
    if REGISTRY.model(event_type).system:
        return parse_log_record(raw)
    return parse_inbound(raw, inbox_agency="gr_police")


def _validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _json_types(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    node = _resolve(schema, node)
    found = {node["type"]} if isinstance(node.get("type"), str) else set()
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found |= _json_types(schema, branch)
    return found


_WRONG_VALUES = (
    ("integer", 12345),
    ("string", "wrong"),
    ("boolean", True),
    ("array", [1]),
    ("object", {"a": 1}),
)


def _mutations(schema: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(kind, field, new value) of every applicable mutation of a top-level field."""
    found: list[tuple[str, str, Any]] = [("drop", name, None) for name in schema["required"]]
    for name, prop in schema["properties"].items():
        types = _json_types(schema, prop)
        assert types, name
        found += [("wrong_type", name, v) for t, v in _WRONG_VALUES if t not in types]
        node = _resolve(schema, prop)
        if "enum" in node:
            found.append(("bad_enum", name, "not-a-valid-value"))
        if "enum" in _resolve(schema, node.get("items", {})):
            found.append(("bad_enum", name, ["not-a-valid-value"]))
        if node.get("minItems", 0) >= 1:
            found.append(("empty_list", name, []))
    found.append(("unknown_property", "zz_unknown", "some value"))
    return found


def _points_at(error: ContractError, field: str, kind: str) -> bool:
    if kind == "unknown_property":
        return any(e.path == "data" and e.code == "extra_forbidden" for e in error.errors)
    target = f"data.{field}"
    return any(
        e.path == target or e.path.startswith((f"{target}.", f"{target}[")) for e in error.errors
    )


@pytest.mark.parametrize("event_type", event_types())
def test_schema_and_model_agree(event_type: str) -> None:
    schema = data_schema(event_type)
    validator = _validator(event_type)
    mutations = _mutations(schema)

    @SETTINGS
    @given(data=from_schema(schema), choice=st.data())
    def check(data: dict[str, Any], choice: st.DataObject) -> None:
        event = event_for(event_type, storable(data))
        assert not list(validator.iter_errors(event))
        parsed = _parse(event_type, event)
        assert type(parsed.data).event_type == event_type
        assert _parse(event_type, json.loads(encode(parsed))) == parsed

        kind, field, value = choice.draw(st.sampled_from(mutations))
        mutated = json.loads(json.dumps(data))
        if kind == "drop":
            mutated.pop(field, None)
        else:
            mutated[field] = value
        bad_event = event_for(event_type, storable(mutated))
        assert list(validator.iter_errors(bad_event)), (kind, field)
        with pytest.raises(ContractError) as caught:
            _parse(event_type, bad_event)
        assert caught.value.reason == "schema_violation"
        assert _points_at(caught.value, field, kind), (kind, field, caught.value.to_dict())

    check()


@pytest.mark.parametrize("event_type", PERSONAL_TYPES)
def test_sealed_schema_and_log_model_agree(event_type: str) -> None:
    sealed_schema = data_schema(event_type, sealed=True)

    @settings(SETTINGS, max_examples=15)
    @given(data=from_schema(sealed_schema))
    def check(data: dict[str, Any]) -> None:
        event = event_for(event_type, storable(data))
        parsed = parse_log_record(json.dumps(event).encode())
        assert type(parsed.data).__name__.endswith("Sealed")
        assert parsed == parse_log_dict(event)  # no raw text: read step by step
        if any(data.get(name) is not None for name in personal_fields(REGISTRY.model(event_type))):
            with pytest.raises(ContractError) as caught:
                parse_inbound(json.dumps(event).encode(), inbox_agency="gr_police")
            assert caught.value.reason == "schema_violation"

    check()
