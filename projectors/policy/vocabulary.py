"""The closed vocabulary of the data-sharing policy, derived from the event contract.

Purposes, agency types, conditions and lawful bases are closed sets: the
policy file can only use these words, and the projection engine implements
each condition by name (nothing else is hard-coded).  The families, their
fields and personal fields come from the data models in ``events.types``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

from events.types import EVENT_MODELS, Family, personal_fields
from events.types import AgencyType as ContractAgencyType
from events.types import Purpose as ContractPurpose

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
# The literals above are for static typing; the contract's enums are the truth.
assert set(PURPOSES) == {p.value for p in ContractPurpose}, "policy purposes drifted"
assert set(AGENCY_TYPES) == {a.value for a in ContractAgencyType}, "agency types drifted"
CONDITIONS: tuple[str, ...] = get_args(Condition)
LAWFUL_BASIS_KINDS: tuple[str, ...] = get_args(LawfulBasisKind)

ENVELOPE_JURISDICTION = "envelope.jurisdiction"
"""``jurisdiction_from`` value: the CloudEvents ``jurisdiction`` extension."""
DATA_PREFIX = "data."
"""``jurisdiction_from`` prefix: a field of the event's ``data``."""

#: The families whose events carry subject data and so may be shared by a policy.
SHAREABLE_FAMILIES: frozenset[Family] = frozenset(
    {Family.IDENTIFICATION, Family.RISK, Family.PLACEMENT, Family.PROTECTIVE_ORDER}
)
_SHAREABLE = [model for model in EVENT_MODELS if model.family in SHAREABLE_FAMILIES]

DOMAIN_FIELDS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        family.value: frozenset(
            name for model in _SHAREABLE if model.family is family for name in model.model_fields
        )
        for family in sorted(SHAREABLE_FAMILIES)
    }
)
"""Family -> the union of the ``data`` fields of its event types (from the contract)."""

DOMAIN_PERSONAL_FIELDS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        family.value: frozenset(
            name
            for model in _SHAREABLE
            if model.family is family
            for name in personal_fields(model)
        )
        for family in sorted(SHAREABLE_FAMILIES)
    }
)
"""Family -> its personal fields (sealed, so personal in any policy)."""

DOMAIN_EVENT_TYPES: frozenset[str] = frozenset(model.event_type for model in _SHAREABLE)
"""The event types that carry subject data and so may be shared."""

NOT_SHAREABLE: MappingProxyType[str, str] = MappingProxyType(
    {
        model.event_type: "it is a system event"
        if model.system
        else "consent events feed the consent ledger"
        for model in EVENT_MODELS
        if model.family not in SHAREABLE_FAMILIES
    }
)
"""Event types a policy may never put in a family, and why."""
