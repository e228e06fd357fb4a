"""Canonical JSON bytes of a log record: compact, keys sorted, UTF-8 (no ASCII escapes).

One definition for the sealer, the gateway and :func:`events.codec.encode`:
the same event always gives the same bytes.  orjson writes exactly what
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
writes for JSON values without floats (the contract has none), several times
faster; what orjson refuses (an integer beyond 64 bits) the standard library
writes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes (keys sorted at every level)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode()


def compact_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes, keys in their given order."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
