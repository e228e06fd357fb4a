"""Risk assessment: ``haven.risk.assessed.v1``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from events.types.common import (
    MAX_ITEMS,
    CalendarDate,
    EventData,
    Family,
    LongText,
    Timestamp,
)
from events.types.personal import KeyScope, Personal


class RiskLevel(StrEnum):
    """How urgent protection is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class RiskFactor(StrEnum):
    """What the risk comes from."""

    RETALIATION = "retaliation"
    RE_TRAFFICKING = "re_trafficking"
    SELF_HARM = "self_harm"
    HEALTH = "health"
    DEBT_BONDAGE = "debt_bondage"
    THREATS_TO_FAMILY = "threats_to_family"
    OTHER = "other"


class ImmediateNeed(StrEnum):
    """What the subject needs now."""

    EMERGENCY_SHELTER = "emergency_shelter"
    MEDICAL_CARE = "medical_care"
    SAFE_TRANSPORT = "safe_transport"
    INTERPRETER = "interpreter"
    LEGAL_AID = "legal_aid"
    PSYCHOSOCIAL_SUPPORT = "psychosocial_support"
    CHILD_PROTECTION = "child_protection"


class RiskAssessed(EventData):
    """A (coordinated) risk assessment of the subject; ``notes`` are personal."""

    event_type: ClassVar[str] = "haven.risk.assessed.v1"
    family: ClassVar[Family] = Family.RISK
    planned_times: ClassVar[frozenset[str]] = frozenset({"review_by"})

    assessed_at: Timestamp
    level: RiskLevel
    factors: Annotated[list[RiskFactor], Field(max_length=MAX_ITEMS)]
    immediate_needs: Annotated[list[ImmediateNeed], Field(max_length=MAX_ITEMS)]
    review_by: CalendarDate | None = None
    notes: Annotated[LongText | None, Personal(KeyScope.SUBJECT)] = None
