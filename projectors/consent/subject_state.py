"""What the engine knows of one subject, beyond its consent ledger: pure, JSON-able.

Stored in ``haven_core.subject_states`` (no personal data: ids, types,
jurisdictions, flags).  See docs/engine.md "What the engine knows per subject".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from projectors.consent.entitlements import SubjectHolders
from projectors.consent.ledger import Grant, SubjectConsent

FULL = "full"
LAWFUL_ONLY = "lawful_only"


@dataclass
class SubjectState:
    """The subject's ledger, holders and the facts later events are judged by."""

    consent: SubjectConsent = field(default_factory=SubjectConsent)
    identifying_agency: str | None = None
    #: agency id -> FULL or LAWFUL_ONLY: who holds the subject's identification now.
    holders: dict[str, str] = field(default_factory=dict)
    is_minor: bool = False
    placements: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_by: set[str] = field(default_factory=set)
    max_epoch: int = -1
    #: Offset of the last ``all`` withdrawal: a grant shares only what came after it.
    record_from: int = -1

    def subject_holders(self) -> SubjectHolders:
        """The view the entitlement checks take."""
        return SubjectHolders(
            identifying_agency=self.identifying_agency,
            receivers=frozenset(self.holders),
            lawful_only=frozenset(a for a, kind in self.holders.items() if kind == LAWFUL_ONLY),
        )

    def hold(self, agency_id: str, *, lawful_only: bool) -> None:
        """Record that ``agency_id`` received the identification."""
        if lawful_only and self.holders.get(agency_id) == FULL:
            return
        self.holders[agency_id] = LAWFUL_ONLY if lawful_only else FULL

    def to_json(self) -> dict[str, Any]:
        """A JSON document of the state."""
        return {
            "grants": [_grant_json(g) for g in self.consent.grants.values()],
            "identifying_agency": self.identifying_agency,
            "holders": self.holders,
            "is_minor": self.is_minor,
            "placements": self.placements,
            "orders": self.orders,
            "seen_by": sorted(self.seen_by),
            "max_epoch": self.max_epoch,
            "record_from": self.record_from,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SubjectState:
        """The state stored by :meth:`to_json`."""
        grants = {g["consent_id"]: _grant(g) for g in doc["grants"]}
        return cls(
            consent=SubjectConsent(grants=grants),
            identifying_agency=doc["identifying_agency"],
            holders=dict(doc["holders"]),
            is_minor=bool(doc["is_minor"]),
            placements=dict(doc["placements"]),
            orders=dict(doc["orders"]),
            seen_by=set(doc["seen_by"]),
            max_epoch=int(doc["max_epoch"]),
            record_from=int(doc.get("record_from", -1)),
        )


_SETS = ("agencies", "agency_types", "jurisdictions", "purposes", "excluded")


def _grant_json(grant: Grant) -> dict[str, Any]:
    doc: dict[str, Any] = {"consent_id": grant.consent_id}
    doc.update({name: sorted(getattr(grant, name)) for name in _SETS})
    if grant.evidence is not None:
        doc["evidence"] = grant.evidence
    return doc


def _grant(doc: dict[str, Any]) -> Grant:
    sets = {name: frozenset(doc.get(name, ())) for name in _SETS}
    return Grant(consent_id=doc["consent_id"], evidence=doc.get("evidence"), **sets)
