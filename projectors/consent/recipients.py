"""Who receives an event and which of its fields: docs/rules.md rules 1-3, pure.

``decide`` takes the event's data as a JSON object, already completed by the
caller with the fields a family's ``key_field`` correlates (a placement's end
carries its start's ``shelter_agency``; a revocation its order's
``recognized_in``), the subject's consent ledger and facts, the registered
agencies and the policy.  Rule 1: the producer sees its whole event.  Rule 2:
consent purposes unlock the agency type's access rules.  Rule 3: the
policy's lawful bases.  Confidential fields and prohibitions then remove
fields from every rule-2 and rule-3 recipient, whatever the rules said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from projectors.consent.agency_index import AgencyIndex
from projectors.consent.ledger import AgencyProfile, SubjectConsent
from projectors.consent.tables import PolicyTables
from projectors.policy.model import LawfulBasis, Policy
from projectors.policy.vocabulary import Condition


@dataclass(frozen=True)
class EventFacts:
    """What the rules read from one event and its subject."""

    event_type: str
    producer: str
    jurisdiction: str | None
    data: Mapping[str, Any]
    subject_is_minor: bool


@dataclass(frozen=True)
class Delivery:
    """One recipient: the fields it may see and why (``producer``, ``consent``, basis ids)."""

    fields: frozenset[str]
    bases: frozenset[str]
    #: The fields a rule-3 lawful basis alone allows (kept after a withdrawal).
    lawful_fields: frozenset[str] = frozenset()

    @property
    def lawful_bases(self) -> frozenset[str]:
        """The rule-3 basis ids among :attr:`bases`."""
        return self.bases - {"producer", "consent"}


def _holds(condition: Condition | None, agency: AgencyProfile, facts: EventFacts) -> bool:
    if condition is None:
        return True
    if condition == "own_shelter":
        return facts.data.get("shelter_agency") == agency.id
    return facts.subject_is_minor  # "subject_is_minor": the vocabulary is closed


class Recipients:
    """Decides deliveries for one policy (what depends on the policy alone is
    computed once, :class:`PolicyTables`)."""

    def __init__(self, policy: Policy, family_fields: Mapping[str, frozenset[str]]) -> None:
        self.policy = policy
        self._fields = family_fields
        self._tables = PolicyTables(policy, family_fields)
        self._select = self._tables.select

    def decide(
        self, facts: EventFacts, consent: SubjectConsent, agencies: Mapping[str, AgencyProfile]
    ) -> dict[str, Delivery]:
        """Every agency that receives the event, with its fields."""
        family = self._tables.family_of(facts.event_type)
        deliveries: dict[str, Delivery] = {}
        if family is not None:
            for agency in self._candidates(family, facts, consent, AgencyIndex.of(agencies)):
                fields, bases = self._by_consent(family, agency, facts, consent)
                lawful_fields, lawful_bases = self._by_law(family, agency, facts)
                lawful_fields = self._restrict(family, agency, facts, lawful_fields)
                fields = self._restrict(family, agency, facts, fields | lawful_fields)
                if bases or lawful_bases:
                    deliveries[agency.id] = Delivery(fields, bases | lawful_bases, lawful_fields)
        producer = facts.producer
        if producer in agencies:
            everything = frozenset(facts.data) | self._fields.get(family or "", frozenset())
            known = deliveries.get(producer, Delivery(frozenset(), frozenset()))
            deliveries[producer] = Delivery(
                everything, known.bases | {"producer"}, known.lawful_fields
            )
        return deliveries

    def _candidates(
        self, family: str, facts: EventFacts, consent: SubjectConsent, agencies: AgencyIndex
    ) -> Iterable[AgencyProfile]:
        """The agencies a grant or a lawful basis of ``family`` could cover (a superset
        of the recipients: the rules below still decide), each once."""
        found: dict[str, AgencyProfile] = {}
        if self._tables.consent_may_share(family):
            for grant in consent.grants.values():
                covered = agencies.matching(grant.agencies, grant.agency_types, grant.jurisdictions)
                found.update((a.id, a) for a in covered)
        for basis in self._tables.lawful_bases_of(family):
            jurisdictions = _jurisdictions(basis.recipients.jurisdiction_from, facts)
            types = frozenset(basis.recipients.agency_types)
            if types and jurisdictions:
                found.update(
                    (a.id, a) for a in agencies.matching(types=types, jurisdictions=jurisdictions)
                )
        return found.values()

    def _by_consent(
        self, family: str, agency: AgencyProfile, facts: EventFacts, consent: SubjectConsent
    ) -> tuple[frozenset[str], frozenset[str]]:
        granted = consent.purposes_for(agency)
        if not granted:
            return frozenset(), frozenset()
        fields: frozenset[str] = frozenset()
        for rule, purposes in self._tables.access_of(agency.agency_type, family):
            if not purposes.isdisjoint(granted) and _holds(rule.condition, agency, facts):
                fields |= self._select(rule)
        return fields, frozenset({"consent"}) if fields else frozenset()

    def _by_law(
        self, family: str, agency: AgencyProfile, facts: EventFacts
    ) -> tuple[frozenset[str], frozenset[str]]:
        fields: frozenset[str] = frozenset()
        bases: set[str] = set()
        for basis in self._tables.lawful_bases_of(family):
            if _applies(basis, agency, facts):
                fields |= self._select(basis)
                bases.add(basis.id)
        return fields, frozenset(bases)

    def _restrict(
        self, family: str, agency: AgencyProfile, facts: EventFacts, fields: frozenset[str]
    ) -> frozenset[str]:
        for confidential in self._tables.confidential_of(family):
            visible = confidential.visible_to
            allowed = agency.agency_type in visible.agency_types or any(
                _holds(c, agency, facts) for c in visible.conditions
            )
            if not allowed:
                fields -= {confidential.field}
        return fields - self._tables.denied(family, agency.agency_type)


def _applies(basis: LawfulBasis, agency: AgencyProfile, facts: EventFacts) -> bool:
    if agency.agency_type not in basis.recipients.agency_types:
        return False
    if basis.when is not None and facts.data.get(basis.when.field) not in basis.when.values:
        return False
    return agency.jurisdiction in _jurisdictions(basis.recipients.jurisdiction_from, facts)


def _jurisdictions(source: str, facts: EventFacts) -> frozenset[str]:
    if source == "envelope.jurisdiction":
        return frozenset({facts.jurisdiction}) if facts.jurisdiction else frozenset()
    value = facts.data.get(source.removeprefix("data."))
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value or ())


def family_fields(policy: Policy) -> dict[str, frozenset[str]]:
    """Every ``data`` field of each family's event types, from the event registry."""
    from events.registry import REGISTRY

    return {
        name: frozenset(
            field
            for event_type in spec.event_types
            for field in REGISTRY.model(event_type).model_fields
        )
        for name, spec in policy.families.items()
    }


def for_policy(policy: Policy) -> Recipients:
    """A :class:`Recipients` with field tables taken from the event registry."""
    return Recipients(policy, family_fields(policy))
