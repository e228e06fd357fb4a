"""The canonical encoder writes, byte for byte, what the standard library writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from events.canonical import canonical_json, compact_json
from events.jsonload import load_json

# Storable text (no NUL, no lone surrogate); integers of any size (beyond 64 bits the
# standard library writes them).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
SCALARS = st.none() | st.booleans() | st.integers() | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(VALUES)
def test_canonical_bytes_equal_the_standard_library(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected.encode()


@given(VALUES)
def test_compact_bytes_keep_the_order_and_equal_the_standard_library(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert compact_json(value) == expected.encode()


def test_escapes_control_characters_and_keeps_other_text_as_utf8() -> None:
    value = {"b": '\u001f\t"\\', "a": "Ολεξάνδρα \u2028 😀"}
    assert canonical_json(value) == '{"a":"Ολεξάνδρα \u2028 😀","b":"\\u001f\\t\\"\\\\"}'.encode()
    assert load_json(canonical_json(value)) == value
