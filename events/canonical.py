"""Canonical JSON bytes of a log record: compact, keys sorted, UTF-8 (no ASCII escapes).

One definition for the sealer, the gateway and :func:`events.codec.encode`:
the same event always gives the same bytes.  orjson writes exactly what
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
writes for the values an event can hold (strings, 64-bit integers, booleans,
null, lists, objects; the contract has no floats), several times faster.
"""

from __future__ import annotations

from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes (keys sorted at every level)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def compact_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes, keys in their given order."""
    return orjson.dumps(value)
