"""``EventView.made``: the engine's quick constructor makes what the dataclass's does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from projectors.consent.ledger import AgencyProfile
from projectors.readmodels.sdk import EventView


def test_made_equals_the_constructor_and_stays_frozen() -> None:
    values: dict[str, Any] = {
        "event_id": "e-1",
        "event_type": "haven.risk.assessed.v1",
        "subject_id": "s-1",
        "time": datetime(2026, 1, 2, tzinfo=UTC),
        "producer": "gr_ngo",
        "jurisdiction": "GR",
        "agency": AgencyProfile("gr_police", "police", "GR"),
        "data": {"level": "high"},
        "bases": frozenset({"consent"}),
        "position": (3, 17),
    }
    made = EventView.made(**values)
    assert made == EventView(**values)
    assert dataclasses.asdict(made) == dataclasses.asdict(EventView(**values))
    assert made.get("level") == "high"
    assert made.sees("level")
    assert not made.sees("notes")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.subject_id = "s-2"  # type: ignore[misc]
