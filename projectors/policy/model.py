"""Typed, frozen models of a loaded data-sharing policy.

The policy file (``contracts/policy/default-policy.yaml``) is validated by
``projectors.policy.loader`` first, so these models only ever hold a policy
whose families, fields, purposes and conditions all make sense. The closed
vocabulary and the field table of docs/rules.md live in ``projectors.policy.vocabulary``.

Field selections: ``fields`` names non-personal fields and ``personal_fields``
names personal ones; ``"all"`` means every field of that kind in the family.
Personal fields are never shared unless a rule names them (data protection by
default, GDPR Art. 25).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from projectors.policy.vocabulary import AgencyType, Condition, LawfulBasisKind, Purpose

FieldNames = Literal["all"] | tuple[str, ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FamilySpec(_Frozen):
    """Event types that are shared together, with their personal fields.

    ``key_field`` correlates the family's events (a revocation with its
    order): a field a rule reads that an event lacks (``recognized_in``,
    ``shelter_agency``) comes from the family's earlier event with that key.
    """

    event_types: tuple[str, ...]
    personal_fields: tuple[str, ...] = ()
    key_field: str | None = None


class FieldSelection(_Frozen):
    """Some fields of one family."""

    family: str
    fields: FieldNames = ()
    personal_fields: FieldNames = ()

    def select(self, family_fields: frozenset[str], personal: frozenset[str]) -> frozenset[str]:
        """The field names selected, given the family's fields and personal fields."""
        plain = family_fields - personal if self.fields == "all" else frozenset(self.fields)
        chosen = personal if self.personal_fields == "all" else frozenset(self.personal_fields)
        return plain | chosen


class AccessRule(FieldSelection):
    """Rule 2: what a consent grant for one of ``purposes`` lets the type see.

    ``purposes`` defaults to all of the agency type's purposes; ``condition``
    must also hold for the event.
    """

    purposes: tuple[Purpose, ...] | None = None
    condition: Condition | None = None


class AgencyTypePolicy(_Frozen):
    """The purposes an agency type may be granted consent for and its access."""

    purposes: tuple[Purpose, ...]
    access: tuple[AccessRule, ...] = ()

    def purposes_of(self, rule: AccessRule) -> tuple[Purpose, ...]:
        """The purposes under which ``rule`` applies."""
        return self.purposes if rule.purposes is None else rule.purposes


class Visibility(_Frozen):
    """Who may see a confidential field: these types, or when a condition holds."""

    agency_types: tuple[AgencyType, ...] = ()
    conditions: tuple[Condition, ...] = ()


class ConfidentialField(_Frozen):
    """A field only ``visible_to`` ever sees, whatever any rule says."""

    family: str
    field: str
    visible_to: Visibility
    reason: str


class Prohibition(_Frozen):
    """Fields the agency types must never see, whatever any rule says."""

    id: str
    agency_types: tuple[AgencyType, ...]
    deny: tuple[FieldSelection, ...]
    reason: str


class EventCondition(_Frozen):
    """Holds when the event's ``data[field]`` is one of the listed values."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: str
    values: tuple[str | bool | int, ...] = Field(alias="in")


class Recipients(_Frozen):
    """Agencies of these types in the jurisdiction(s) read from the event.

    ``jurisdiction_from`` is ``envelope.jurisdiction`` or ``data.<field>``
    (an ISO 3166-1 alpha-2 code or a list of them).
    """

    agency_types: tuple[AgencyType, ...]
    jurisdiction_from: str


class LawfulBasis(FieldSelection):
    """Rule 3: a non-consent lawful basis that shares a family's events."""

    id: str
    basis: LawfulBasisKind
    reference: str
    when: EventCondition | None = None
    recipients: Recipients


class Policy(_Frozen):
    """A validated data-sharing policy (docs/rules.md "Who receives what")."""

    policy_version: str
    families: Mapping[str, FamilySpec]
    confidential_fields: tuple[ConfidentialField, ...] = ()
    prohibitions: tuple[Prohibition, ...] = ()
    agency_types: Mapping[AgencyType, AgencyTypePolicy]
    lawful_bases: tuple[LawfulBasis, ...] = ()

    def canonical_json(self) -> str:
        """The policy as canonical JSON: sorted keys, no spaces, defaults included.

        It is itself a valid policy document (absent options are left out).
        """
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`: what ``policy.activated`` names."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def family_of(self, event_type: str) -> str | None:
        """The family an event type belongs to, or None when it is never shared."""
        for name, family in self.families.items():
            if event_type in family.event_types:
                return name
        return None
