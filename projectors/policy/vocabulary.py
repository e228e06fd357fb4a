"""The closed vocabulary of the data-sharing policy, as docs/rules.md states it.

Purposes, agency types, conditions and lawful bases are closed sets: the
policy file can only use these words, and the projection engine implements
each condition by name (nothing else is hard-coded). The field table is the
minimum field set of each event family in docs/rules.md; the engine issue will
derive it from the event registry and pass it to the loader as
``known_fields``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

Purpose = Literal[
    "care",
    "protection",
    "investigation",
    "prosecution",
    "legal_assistance",
    "residence_status",
    "statistics",
]
AgencyType = Literal[
    "coordinator",
    "police",
    "prosecutor",
    "court",
    "ngo",
    "shelter",
    "health",
    "legal_aid",
    "child_protection",
    "immigration",
    "labour_inspectorate",
    "auditor",
]
Condition = Literal["own_shelter", "subject_is_minor"]
"""``own_shelter``: the agency is the ``shelter_agency`` of the placement.
``subject_is_minor``: the subject's identification says ``is_minor: true``."""
LawfulBasisKind = Literal["legal_obligation", "vital_interests", "public_task"]
"""GDPR Art. 6(1)(c), (d) and (e): the non-consent bases of rule 3."""

PURPOSES: tuple[str, ...] = get_args(Purpose)
AGENCY_TYPES: tuple[str, ...] = get_args(AgencyType)
CONDITIONS: tuple[str, ...] = get_args(Condition)
LAWFUL_BASIS_KINDS: tuple[str, ...] = get_args(LawfulBasisKind)

ENVELOPE_JURISDICTION = "envelope.jurisdiction"
"""``jurisdiction_from`` value: the CloudEvents ``jurisdiction`` extension."""
DATA_PREFIX = "data."
"""``jurisdiction_from`` prefix: a field of the event's ``data``."""

DOMAIN_FIELDS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "identification": frozenset(
            {
                "identified_at",
                "nationality",
                "exploitation_types",
                "indicators",
                "is_minor",
                "gender",
                "age_band",
                "languages",
                "personal",
            }
        ),
        "risk": frozenset(
            {"assessed_at", "level", "factors", "immediate_needs", "review_by", "notes"}
        ),
        "placement": frozenset(
            {
                "placement_id",
                "shelter_agency",
                "started_at",
                "ended_at",
                "reason",
                "placement_type",
                "child_friendly",
                "location",
            }
        ),
        "protective_order": frozenset(
            {
                "order_id",
                "issued_at",
                "issuing_jurisdiction",
                "order_type",
                "valid_from",
                "valid_until",
                "recognized_in",
                "respondent",
                "revoked_at",
                "reason",
            }
        ),
    }
)
"""Family -> the union of the ``data`` fields of its event types (docs/rules.md)."""

DOMAIN_PERSONAL_FIELDS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "identification": frozenset({"personal"}),
        "risk": frozenset({"notes"}),
        "placement": frozenset({"location"}),
        "protective_order": frozenset({"respondent"}),
    }
)
"""Family -> its fields marked P in docs/rules.md: sealed, so personal in any policy."""

DOMAIN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "haven.victim.identified.v1",
        "haven.risk.assessed.v1",
        "haven.shelter.placement-started.v1",
        "haven.shelter.placement-ended.v1",
        "haven.protective-order.issued.v1",
        "haven.protective-order.revoked.v1",
    }
)
"""The event types that carry subject data and so may be shared."""

NOT_SHAREABLE: MappingProxyType[str, str] = MappingProxyType(
    {
        "haven.consent.granted.v1": "consent events feed the consent ledger",
        "haven.consent.withdrawn.v1": "consent events feed the consent ledger",
        "haven.consent.expired.v1": "it is a system event",
        "haven.agency.registered.v1": "it is a system event",
        "haven.agency.updated.v1": "it is a system event",
        "haven.policy.activated.v1": "it is a system event",
        "haven.erasure.executed.v1": "it is a system event",
    }
)
"""Event types a policy may never put in a family, and why."""
