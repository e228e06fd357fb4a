"""A grant shares the current record; one agency's rows about a subject, rebuilt.

When an accepted grant covers an agency, every earlier accepted event of the
subject since its last ``all`` withdrawal that the agency would now receive
(rules 1-3, the policy's field rules, the subject's corrections) and does
not yet hold with those fields is delivered to it, in the grant's
transaction.  The agency's rows about the subject are then rebuilt from
what it holds, in log order, so that the result is exactly what live
delivery in log order would have given (docs/survivor-rights.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from projectors.consent.ledger import AgencyProfile
from projectors.consent.recipients import Delivery, EventFacts
from projectors.consent.subject_state import SubjectState
from projectors.directory.agencies import schema_name
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import GRANT_RECEIPTS
from projectors.engine.holdings import Holding
from projectors.engine.subject_record import (
    Correction,
    corrected,
    corrections,
    events_at,
    record_events,
)
from projectors.engine.subject_rows import erase_subject
from projectors.log import LoggedEvent

IDENTIFIED = "haven.victim.identified.v1"
Project = Callable[[LoggedEvent, AgencyProfile, frozenset[str], frozenset[str]], None]
Facts = Callable[[LoggedEvent, SubjectState], EventFacts]
Fixes = dict[int, list[Correction]]


def holding_of(
    scope: BatchScope,
    logged: LoggedEvent,
    agency_id: str,
    grant: tuple[frozenset[str], frozenset[str]],
    since: datetime,
) -> Holding:
    """The holding row of one delivery of ``logged`` to ``agency_id``."""
    fields, bases = grant
    return Holding(
        subject_id=logged.subject or "",
        agency_id=agency_id,
        topic=scope.context.topic,
        partition=scope.context.partition,
        offset=logged.offset,
        event_id=logged.event.id,
        event_type=logged.event.type,
        fields=fields,
        bases=bases,
        held_since=since,
    )


def rebuild_agency(
    scope: BatchScope,
    project: Project,
    agency: AgencyProfile,
    held: dict[int, Holding],
    fixes: Fixes,
    *,
    has_rows: bool = True,
) -> None:
    """Erase the agency's consent-based rows about the subject; re-project what it holds.

    ``has_rows`` False: the agency has no rows about the subject (not in its
    ``seen_by``), so there is nothing to erase.
    """
    if not held:
        return
    subject = next(iter(held.values())).subject_id
    if has_rows:
        conn = scope.conn_for(agency.id)
        erase_subject(scope, conn, schema_name(agency.id), scope.consent_based(), subject)
    events = events_at(scope, held)
    for offset in sorted(held):
        event = corrected(events[offset], fixes)
        if event is not None:
            project(event, agency, held[offset].fields, held[offset].bases)


def by_agency(holdings: list[Holding]) -> dict[str, dict[int, Holding]]:
    """Holdings grouped by agency, then offset."""
    grouped: dict[str, dict[int, Holding]] = {}
    for holding in holdings:
        grouped.setdefault(holding.agency_id, {})[holding.offset] = holding
    return grouped


class GrantSharing:
    """Shares a subject's record with the agencies a new grant covers."""

    def __init__(self, scope: BatchScope, project: Project, facts: Facts) -> None:
        self.scope = scope
        self._project = project
        self._facts = facts

    def share(self, grant_event: LoggedEvent, consent_id: str, state: SubjectState) -> None:
        """Deliver the record to every agency the grant covers; receipts per agency."""
        scope, subject = self.scope, str(grant_event.subject)
        grant = state.consent.grants[consent_id]
        selected = scope.context.agencies.matching(
            grant.agencies, grant.agency_types, grant.jurisdictions
        )
        covered = {a.id: a for a in selected if grant.covers(a)}
        if not covered:
            return
        fixes = corrections(scope, subject)
        context = scope.context
        held = by_agency(scope.holdings.held(scope.conn, subject, context.topic, context.partition))
        wanted = self._wanted(subject, state, covered, held, fixes)
        for agency_id in sorted(covered):
            new = wanted.get(agency_id, {})
            if new:
                holds = held.setdefault(agency_id, {})
                has_rows = agency_id in state.seen_by
                self._deliver(grant_event, state, covered[agency_id], holds, new)
                rebuild = (scope, self._project, covered[agency_id], holds, fixes)
                rebuild_agency(*rebuild, has_rows=has_rows)
            _receipt(scope, grant_event, consent_id, agency_id, len(new))
        shared_to = sorted(a for a, new in wanted.items() if new)
        scope.delivered.setdefault(grant_event.offset, []).extend(shared_to)
        scope.counts["events_shared"] += sum(len(new) for new in wanted.values())

    def _wanted(
        self,
        subject: str,
        state: SubjectState,
        covered: dict[str, AgencyProfile],
        held: dict[str, dict[int, Holding]],
        fixes: Fixes,
    ) -> dict[str, dict[int, tuple[LoggedEvent, Delivery]]]:
        """Per agency: the events (and deliveries) it would receive now but does not hold."""
        decider = self.scope.recipients()
        wanted: dict[str, dict[int, tuple[LoggedEvent, Delivery]]] = {}
        for logged in record_events(self.scope, subject, state.record_from):
            event = corrected(logged, fixes)
            if event is None:
                continue
            facts = self._facts(event, state)
            for agency_id, delivery in decider.decide(facts, state.consent, covered).items():
                before = held.get(agency_id, {}).get(logged.offset)
                if before and delivery.fields <= before.fields and delivery.bases <= before.bases:
                    continue
                wanted.setdefault(agency_id, {})[logged.offset] = (logged, delivery)
        return wanted

    def _deliver(
        self,
        grant_event: LoggedEvent,
        state: SubjectState,
        agency: AgencyProfile,
        held: dict[int, Holding],
        new: dict[int, tuple[LoggedEvent, Delivery]],
    ) -> None:
        for offset, (logged, delivery) in sorted(new.items()):
            before = held.get(offset)
            fields = delivery.fields | (before.fields if before else frozenset())
            bases = delivery.bases | (before.bases if before else frozenset())
            since = before.held_since if before else grant_event.event.time
            held[offset] = holding_of(self.scope, logged, agency.id, (fields, bases), since)
            self.scope.holdings.add(held[offset])
            if logged.event.type == IDENTIFIED:
                state.hold(agency.id, lawful_only=not ({"producer", "consent"} & bases))
            if before is None and delivery.lawful_bases and delivery.lawful_fields:
                self.scope.retain(logged, agency.id, delivery)
        state.seen_by.add(agency.id)


def _receipt(
    scope: BatchScope, grant_event: LoggedEvent, consent_id: str, agency_id: str, shared: int
) -> None:
    scope.books.add(
        GRANT_RECEIPTS,
        grant_event.event.id,
        grant_event.subject,
        consent_id,
        agency_id,
        shared,
        grant_event.event.time,
    )
