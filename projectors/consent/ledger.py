"""The consent ledger of one subject: pure, no Kafka, no SQL.

It follows docs/rules.md "Who receives what", rule 2 and the withdrawal rules:
a grant covers an agency when every selector it gives matches; a withdrawal
ends every grant (``all``), some grants (``consent_ids``) or some agencies'
coverage (``agencies``); ``haven.consent.expired.v1`` ends one grant. Time
never ends a grant by itself: expiry arrives as a system event in the log,
so a replay decides exactly as the live run did. A later grant applies from
then on; nothing here looks back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from events.types import EventData
from events.types.consent import AgenciesScope, ConsentGranted, ConsentIdsScope, ConsentWithdrawn
from events.types.system import ConsentExpired


@dataclass(frozen=True)
class AgencyProfile:
    """What consent selectors match against."""

    id: str
    agency_type: str
    jurisdiction: str


@dataclass(frozen=True)
class Grant:
    """One active grant; ``excluded`` holds agencies withdrawn by an ``agencies`` scope."""

    consent_id: str
    agencies: frozenset[str]
    agency_types: frozenset[str]
    jurisdictions: frozenset[str]
    purposes: frozenset[str]
    excluded: frozenset[str] = frozenset()
    #: How consent was given (``evidence`` of the grant, JSON; kept for Art. 7(1)).
    evidence: dict[str, Any] | None = field(default=None, compare=False)

    def covers(self, agency: AgencyProfile) -> bool:
        """Every given selector matches, and the agency was not withdrawn."""
        if agency.id in self.excluded:
            return False
        checks = (
            (self.agencies, agency.id),
            (self.agency_types, agency.agency_type),
            (self.jurisdictions, agency.jurisdiction),
        )
        return all(value in selector for selector, value in checks if selector)


@dataclass(frozen=True)
class ConsentChange:
    """What an event did to the ledger: grants ended, agencies no longer covered."""

    ended_grants: tuple[str, ...] = ()
    withdrawn_agencies: tuple[str, ...] = ()
    scope_all: bool = False


@dataclass
class SubjectConsent:
    """Active grants of one subject, changed only by consent events in log order."""

    grants: dict[str, Grant] = field(default_factory=dict)

    def apply(self, data: EventData) -> ConsentChange:
        """Apply a consent event (other events change nothing)."""
        # By the MRO: events read from the log may be sealed subclasses.
        for cls in type(data).__mro__:
            handler = _HANDLERS.get(cls)
            if handler is not None:
                return handler(self, data)
        return ConsentChange()

    def _granted(self, data: ConsentGranted) -> ConsentChange:
        recipients = data.recipients
        self.grants[data.consent_id] = Grant(
            consent_id=data.consent_id,
            agencies=frozenset(recipients.agencies),
            agency_types=frozenset(t.value for t in recipients.agency_types),
            jurisdictions=frozenset(recipients.jurisdictions),
            purposes=frozenset(p.value for p in data.purposes),
            evidence=None if data.evidence is None else data.evidence.model_dump(mode="json"),
        )
        return ConsentChange()

    def _withdrawn(self, data: ConsentWithdrawn) -> ConsentChange:
        scope = data.scope
        if isinstance(scope, ConsentIdsScope):
            return self._end(scope.consent_ids)
        if isinstance(scope, AgenciesScope):
            excluded = frozenset(scope.agencies)
            for consent_id, grant in self.grants.items():
                self.grants[consent_id] = replace(grant, excluded=grant.excluded | excluded)
            return ConsentChange(withdrawn_agencies=tuple(sorted(excluded)))
        ended = self._end(list(self.grants))
        return replace(ended, scope_all=True)

    def _expired(self, data: ConsentExpired) -> ConsentChange:
        return self._end([data.consent_id])

    def _end(self, consent_ids: Iterable[str]) -> ConsentChange:
        ended = tuple(sorted(c for c in set(consent_ids) if self.grants.pop(c, None)))
        return ConsentChange(ended_grants=ended)

    def purposes_for(self, agency: AgencyProfile) -> frozenset[str]:
        """Purposes for which active grants cover ``agency`` (empty: no consent)."""
        purposes: frozenset[str] = frozenset()
        for grant in self.grants.values():
            if grant.covers(agency):
                purposes |= grant.purposes
        return purposes


_HANDLERS: dict[type[EventData], Callable[[SubjectConsent, EventData], ConsentChange]] = {
    ConsentGranted: SubjectConsent._granted,  # type: ignore[dict-item]
    ConsentWithdrawn: SubjectConsent._withdrawn,  # type: ignore[dict-item]
    ConsentExpired: SubjectConsent._expired,  # type: ignore[dict-item]
}
