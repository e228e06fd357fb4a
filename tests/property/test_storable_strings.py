"""Every string field of every agency event type refuses NUL and lone surrogates.

Instances come from each type's JSON Schema with every property made
required and non-null (so optional and nested fields are present too; the
test checks that the examples covered every string field); one
string anywhere in the event (envelope or data, list items included) gets
a NUL or an unpaired surrogate, and the codec must refuse it as
``schema_violation`` naming exactly that field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.codec import parse_inbound
from events.errors import ContractError, RejectReason, error_path
from events.registry import REGISTRY, event_types
from events.schemas import data_schema
from tests.property.schema_gen import event_for, from_schema, storable

AGENCY_TYPES = [t for t in event_types() if not REGISTRY.model(t).system]
BAD = {"\x00": "nul_character", chr(0xD800): "lone_surrogate", chr(0xDFFF): "lone_surrogate"}
Loc = tuple[str | int, ...]


def _everything(node: Any) -> Any:
    """The schema with every property required, nulls dropped and lists non-empty."""
    if isinstance(node, list):
        return [_everything(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _everything(value) for key, value in node.items()}
    if "anyOf" in out:
        kept = [branch for branch in out["anyOf"] if branch != {"type": "null"}]
        out.pop("default", None)
        if len(kept) == 1:
            out.pop("anyOf")
            out |= kept[0]
        else:
            out["anyOf"] = kept
    if "properties" in out:
        out["required"] = sorted(out["properties"])
    if out.get("type") == "array" and out.get("maxItems", 1) >= 1:
        out["minItems"] = max(out.get("minItems", 0), 1)
    return out


def _strings(value: Any, loc: Loc = ()) -> Iterator[Loc]:
    if isinstance(value, str):
        yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def _schema_string_fields(schema: dict[str, Any], node: dict[str, Any], path: str) -> set[str]:
    """``data.x``, ``data.y[]``: every string-valued field the schema allows."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    found = {path} if node.get("type") == "string" or "enum" in node else set()
    for name, prop in node.get("properties", {}).items():
        found |= _schema_string_fields(schema, prop, f"{path}.{name}")
    if "items" in node:
        found |= _schema_string_fields(schema, node["items"], f"{path}[]")
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found |= _schema_string_fields(schema, branch, path)
    return found


def _shape(loc: Loc) -> str:
    return "".join("[]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _put(document: dict[str, Any], loc: Loc, text: str) -> None:
    node: Any = document
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = text


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One schema per alternative of a union-typed property (a rectification's ``fields``,
    a withdrawal's ``scope``), so that every alternative is generated, not only the ones
    hypothesis happens to pick (20 examples missed ``scope``'s consent ids once)."""
    for name, prop in schema.get("properties", {}).items():
        union = prop.get("anyOf") or prop.get("oneOf")
        if union:
            return [
                {**schema, "properties": {**schema["properties"], name: branch}} for branch in union
            ]
    return [schema]


@pytest.mark.parametrize("event_type", AGENCY_TYPES)
def test_every_string_field_refuses_nul_and_lone_surrogates(event_type: str) -> None:
    whole = _everything(data_schema(event_type))
    declared = _schema_string_fields(whole, whole, "data")
    covered: set[str] = set()
    for schema in _branches(whole):
        _check_strings(event_type, schema, declared, covered)
    assert covered == declared, "every string field of the schema was tried"


def _check_strings(
    event_type: str, schema: dict[str, Any], declared: set[str], covered: set[str]
) -> None:

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=from_schema(schema), choice=st.data())
    def check(data: dict[str, Any], choice: st.DataObject) -> None:
        document = event_for(event_type, storable(data))
        parse_inbound(json.dumps(document).encode(), inbox_agency="gr_police")
        leaves = list(_strings(document))
        shapes = {_shape(loc) for loc in leaves if loc[0] == "data"}
        assert shapes <= declared
        covered.update(shapes)
        loc = choice.draw(st.sampled_from(leaves))
        bad = choice.draw(st.sampled_from(sorted(BAD)))
        mutated = copy.deepcopy(document)
        original: str = _get(mutated, loc)
        at = choice.draw(st.integers(0, len(original)))
        _put(mutated, loc, original[:at] + bad + original[at:])
        with pytest.raises(ContractError) as caught:
            parse_inbound(json.dumps(mutated).encode(), inbox_agency="gr_police")
        error = caught.value
        assert error.reason is RejectReason.SCHEMA_VIOLATION
        assert [(e.path, e.code) for e in error.errors] == [(error_path(loc), BAD[bad])]

    check()


def _get(document: dict[str, Any], loc: Loc) -> Any:
    node: Any = document
    for part in loc:
        node = node[part]
    return node
