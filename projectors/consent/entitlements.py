"""Who may produce what (docs/rules.md): a refused event reaches no read model.

Pure: the engine passes the producer, the event, and what it knows of the
subject (its identifying agency and the agencies that currently receive its
identification).  Placement ends and order revocations are judged on the
data of their start or order, which the caller merges in (``key_field``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from events.types import (
    ConsentGranted,
    ConsentWithdrawn,
    PlacementEnded,
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.consent.ledger import AgencyProfile

GRANTING_TYPES = frozenset({"coordinator", "ngo", "legal_aid", "shelter", "child_protection"})
ERASE_TYPES = frozenset({"coordinator", "legal_aid"})
ORDER_TYPES = frozenset({"court", "prosecutor"})


class Refusal(StrEnum):
    """Why the engine refused an event."""

    NOT_ENTITLED_TO_PRODUCE = "not_entitled_to_produce"
    NOT_ENTITLED_TO_GRANT = "not_entitled_to_grant"
    NOT_ENTITLED_TO_WITHDRAW = "not_entitled_to_withdraw"
    NOT_ENTITLED_TO_RECTIFY = "not_entitled_to_rectify"
    #: The rectified event is not an accepted, rectifiable, unretracted event of the subject.
    UNKNOWN_TARGET = "unknown_target"
    #: ``fields`` do not fit the target's type, or ``retract`` comes with fields (or none).
    RECTIFICATION_MISMATCH = "rectification_mismatch"


@dataclass(frozen=True)
class SubjectHolders:
    """Who holds a subject: its identifying agency and current identification receivers.

    ``lawful_only`` are receivers that hold it by a rule-3 lawful basis alone
    (no consent, not the producer): they may not grant or withdraw consent.
    """

    identifying_agency: str | None = None
    receivers: frozenset[str] = field(default_factory=frozenset)
    lawful_only: frozenset[str] = field(default_factory=frozenset)

    def holds(self, agency_id: str) -> bool:
        """The agency currently receives the subject's identification.

        The identifying agency always does: it is the survivor's first contact
        and keeps producing for them after a withdrawal (docs/engine.md).
        """
        return agency_id in self.receivers or agency_id == self.identifying_agency


Check = Callable[[AgencyProfile, Mapping[str, Any], SubjectHolders], Refusal | None]


def _identification(
    agency: AgencyProfile, _d: Mapping[str, Any], s: SubjectHolders
) -> Refusal | None:
    entitled = s.identifying_agency is None or s.holds(agency.id)
    if agency.agency_type == "auditor" or not entitled:
        return Refusal.NOT_ENTITLED_TO_PRODUCE
    return None


def _holder(agency: AgencyProfile, _d: Mapping[str, Any], s: SubjectHolders) -> Refusal | None:
    return None if s.holds(agency.id) else Refusal.NOT_ENTITLED_TO_PRODUCE


def _placement(agency: AgencyProfile, d: Mapping[str, Any], s: SubjectHolders) -> Refusal | None:
    named = d.get("shelter_agency") == agency.id or agency.agency_type == "coordinator"
    return _holder(agency, d, s) or (None if named else Refusal.NOT_ENTITLED_TO_PRODUCE)


def _order(agency: AgencyProfile, d: Mapping[str, Any], _s: SubjectHolders) -> Refusal | None:
    issuing = d.get("issuing_jurisdiction")
    if agency.agency_type in ORDER_TYPES and agency.jurisdiction == issuing:
        return None
    return Refusal.NOT_ENTITLED_TO_PRODUCE


def _may_manage_consent(agency: AgencyProfile, s: SubjectHolders) -> bool:
    if agency.id == s.identifying_agency:
        return True
    in_contact = s.holds(agency.id) and agency.id not in s.lawful_only
    return agency.agency_type in GRANTING_TYPES and in_contact


def _grant(agency: AgencyProfile, _d: Mapping[str, Any], s: SubjectHolders) -> Refusal | None:
    return None if _may_manage_consent(agency, s) else Refusal.NOT_ENTITLED_TO_GRANT


def _withdraw(agency: AgencyProfile, _d: Mapping[str, Any], s: SubjectHolders) -> Refusal | None:
    return None if _may_manage_consent(agency, s) else Refusal.NOT_ENTITLED_TO_WITHDRAW


CHECKS: dict[str, Check] = {
    VictimIdentified.event_type: _identification,
    RiskAssessed.event_type: _holder,
    PlacementStarted.event_type: _placement,
    PlacementEnded.event_type: _placement,
    ProtectiveOrderIssued.event_type: _order,
    ProtectiveOrderRevoked.event_type: _order,
    ConsentGranted.event_type: _grant,
    ConsentWithdrawn.event_type: _withdraw,
}


def refusal(
    event_type: str, producer: AgencyProfile, data: Mapping[str, Any], subject: SubjectHolders
) -> Refusal | None:
    """Why ``producer`` may not produce this event, or None when it may."""
    check = CHECKS.get(event_type)
    return check(producer, data, subject) if check else None


def rectify_refusal(
    producer: AgencyProfile, target_producer: str, target_jurisdiction: str | None
) -> Refusal | None:
    """Only the target's producer or a coordinator of the target's jurisdiction may rectify."""
    if producer.id == target_producer:
        return None
    if producer.agency_type == "coordinator" and producer.jurisdiction == target_jurisdiction:
        return None
    return Refusal.NOT_ENTITLED_TO_RECTIFY


def erasure_honoured(producer: AgencyProfile, subject: SubjectHolders) -> bool:
    """``erase_personal_data`` destroys keys only from these producers (else receipt says why)."""
    return producer.id == subject.identifying_agency or producer.agency_type in ERASE_TYPES
