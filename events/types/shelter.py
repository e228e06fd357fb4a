"""Shelter placements: ``haven.shelter.placement-started.v1`` / ``-ended.v1``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from events.types.common import AgencyId, EventData, Family, Identifier, Text, Timestamp
from events.types.personal import KeyScope, Personal


class PlacementType(StrEnum):
    """How long a placement is meant to last."""

    EMERGENCY = "emergency"
    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"


class PlacementEndReason(StrEnum):
    """Why a placement ended."""

    MOVED = "moved"
    RETURNED_HOME = "returned_home"
    INDEPENDENT_LIVING = "independent_living"
    LEFT_WITHOUT_NOTICE = "left_without_notice"
    OTHER = "other"


class PlacementStarted(EventData):
    """The subject was placed in a shelter; ``location`` is personal and confidential."""

    event_type: ClassVar[str] = "haven.shelter.placement-started.v1"
    family: ClassVar[Family] = Family.PLACEMENT

    placement_id: Identifier
    shelter_agency: AgencyId
    started_at: Timestamp
    placement_type: PlacementType
    child_friendly: bool
    location: Annotated[Text, Personal(KeyScope.SUBJECT)]


class PlacementEnded(EventData):
    """A placement ended."""

    event_type: ClassVar[str] = "haven.shelter.placement-ended.v1"
    family: ClassVar[Family] = Family.PLACEMENT

    placement_id: Identifier
    ended_at: Timestamp
    reason: PlacementEndReason
