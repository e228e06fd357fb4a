"""What the delivery rules read of a policy alone, computed once per policy.

An event type's family, the fields a rule selects and what confidential
fields and prohibitions take from each agency type depend on the policy
only, which never changes, so :class:`~projectors.consent.recipients.Recipients`
looks them up here instead of walking the policy for every event and agency.
"""

from __future__ import annotations

from collections.abc import Mapping

from projectors.policy.model import (
    AccessRule,
    ConfidentialField,
    FieldSelection,
    LawfulBasis,
    Policy,
)

#: An access rule of one agency type and family, with the purposes it applies under.
Access = tuple[AccessRule, frozenset[str]]


class PolicyTables:
    """Lazily filled lookups of one policy (``family_fields``: each family's fields)."""

    def __init__(self, policy: Policy, family_fields: Mapping[str, frozenset[str]]) -> None:
        self.policy = policy
        self._fields = family_fields
        self._families: dict[str, str | None] = {}
        self._selected: dict[int, frozenset[str]] = {}
        self._confidential: dict[str, tuple[ConfidentialField, ...]] = {}
        self._prohibited: dict[tuple[str, str], frozenset[str]] = {}
        self._bases: dict[str, tuple[LawfulBasis, ...]] = {}
        self._consented: dict[str, bool] = {}
        self._access: dict[tuple[str, str], tuple[Access, ...]] = {}

    def family_of(self, event_type: str) -> str | None:
        """The family of ``event_type`` (None: never shared)."""
        if event_type not in self._families:
            self._families[event_type] = self.policy.family_of(event_type)
        return self._families[event_type]

    def select(self, selection: FieldSelection) -> frozenset[str]:
        """The field names a rule, basis or prohibition selects."""
        # Keyed by identity: every selection is a part of ``self.policy``, which lives on.
        fields = self._selected.get(id(selection))
        if fields is None:
            personal = frozenset(self.policy.families[selection.family].personal_fields)
            fields = selection.select(self._fields[selection.family], personal)
            self._selected[id(selection)] = fields
        return fields

    def lawful_bases_of(self, family: str) -> tuple[LawfulBasis, ...]:
        """The lawful bases of ``family``, in policy order."""
        if family not in self._bases:
            self._bases[family] = tuple(b for b in self.policy.lawful_bases if b.family == family)
        return self._bases[family]

    def access_of(self, agency_type: str, family: str) -> tuple[Access, ...]:
        """The access rules of ``agency_type`` for ``family``, in policy order, each with
        the purposes it applies under (none for a type the policy does not name)."""
        key = (agency_type, family)
        if key not in self._access:
            type_policy = self.policy.agency_types.get(agency_type)  # type: ignore[call-overload]
            rules = type_policy.access if type_policy is not None else ()
            self._access[key] = tuple(
                (rule, frozenset(type_policy.purposes_of(rule)))
                for rule in rules
                if rule.family == family
            )
        return self._access[key]

    def consent_may_share(self, family: str) -> bool:
        """Whether any agency type has an access rule for ``family``."""
        if family not in self._consented:
            self._consented[family] = any(
                rule.family == family
                for type_policy in self.policy.agency_types.values()
                for rule in type_policy.access
            )
        return self._consented[family]

    def confidential_of(self, family: str) -> tuple[ConfidentialField, ...]:
        """The confidential fields of ``family``, in policy order."""
        if family not in self._confidential:
            self._confidential[family] = tuple(
                c for c in self.policy.confidential_fields if c.family == family
            )
        return self._confidential[family]

    def denied(self, family: str, agency_type: str) -> frozenset[str]:
        """What the prohibitions deny an agency type of the family, whatever the facts."""
        key = (family, agency_type)
        if key not in self._prohibited:
            denied: frozenset[str] = frozenset()
            for prohibition in self.policy.prohibitions:
                if agency_type in prohibition.agency_types:
                    for selection in prohibition.deny:
                        if selection.family == family:
                            denied |= self.select(selection)
            self._prohibited[key] = denied
        return self._prohibited[key]
