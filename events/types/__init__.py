"""The data models of every event type, one module per family."""

from __future__ import annotations

from typing import Final

from events.types.common import AgencyType, EventData, Family
from events.types.consent import (
    ConsentEvidence,
    ConsentGranted,
    ConsentWithdrawn,
    EvidenceMethod,
    Purpose,
    Recipients,
)
from events.types.personal import (
    KeyScope,
    Personal,
    SealedField,
    personal_fields,
    personal_paths,
)
from events.types.protective_order import (
    OrderType,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    Respondent,
)
from events.types.record import RecordRectified, RectificationReason
from events.types.risk import ImmediateNeed, RiskAssessed, RiskFactor, RiskLevel
from events.types.shelter import (
    PlacementEnded,
    PlacementEndReason,
    PlacementStarted,
    PlacementType,
)
from events.types.system import (
    AgencyRegistered,
    AgencyUpdated,
    ConsentExpired,
    ErasureExecuted,
    PolicyActivated,
)
from events.types.victim import ExploitationType, PersonalDetails, VictimIdentified

#: Every event type of the contract, in the order of docs/rules.md "Event types".
EVENT_MODELS: Final[tuple[type[EventData], ...]] = (
    VictimIdentified,
    RiskAssessed,
    PlacementStarted,
    PlacementEnded,
    ConsentGranted,
    ConsentWithdrawn,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RecordRectified,
    AgencyRegistered,
    AgencyUpdated,
    PolicyActivated,
    ConsentExpired,
    ErasureExecuted,
)

__all__ = [
    "EVENT_MODELS",
    "AgencyRegistered",
    "AgencyType",
    "AgencyUpdated",
    "ConsentEvidence",
    "ConsentExpired",
    "ConsentGranted",
    "ConsentWithdrawn",
    "ErasureExecuted",
    "EventData",
    "EvidenceMethod",
    "ExploitationType",
    "Family",
    "ImmediateNeed",
    "KeyScope",
    "OrderType",
    "Personal",
    "PersonalDetails",
    "PlacementEndReason",
    "PlacementEnded",
    "PlacementStarted",
    "PlacementType",
    "PolicyActivated",
    "ProtectiveOrderIssued",
    "ProtectiveOrderRevoked",
    "Purpose",
    "Recipients",
    "RecordRectified",
    "RectificationReason",
    "Respondent",
    "RiskAssessed",
    "RiskFactor",
    "RiskLevel",
    "SealedField",
    "VictimIdentified",
    "personal_fields",
    "personal_paths",
]
