"""Shared helpers of the built-in projectors."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import TIMESTAMP

from projectors.readmodels.sdk import EventView

TS = TIMESTAMP(timezone=True)


def visible(event: EventView, *names: str) -> dict[str, Any]:
    """The listed fields the agency may see (hidden ones are left out, never blanked)."""
    return {name: event.get(name) for name in names if event.sees(name)}
