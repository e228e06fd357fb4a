"""Opening the sealed personal fields of a read-model row, only into a response."""

from __future__ import annotations

from typing import Any

from events.sealing import KeyLookup, open_stored


def _is_stored_seal(value: dict[str, Any]) -> bool:
    return value.get("sealed") == "v1" and "event_id" in value and "path" in value


def unseal(value: Any, keys: KeyLookup) -> Any:
    """``value`` with every stored sealed field opened (``{"erased": true}`` once shredded)."""
    if isinstance(value, dict):
        if _is_stored_seal(value):
            return open_stored(value, keys)
        return {name: unseal(item, keys) for name, item in value.items()}
    if isinstance(value, list):
        return [unseal(item, keys) for item in value]
    return value


def sealed_kids(value: Any) -> set[str]:
    """The key ids of every stored sealed field in ``value``."""
    if isinstance(value, dict):
        if _is_stored_seal(value):
            return {str(value.get("kid", ""))}
        return set().union(*(sealed_kids(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(sealed_kids(item) for item in value))
    return set()
