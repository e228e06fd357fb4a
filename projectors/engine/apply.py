"""Applies one log event inside a batch transaction: refuse, decide, deliver.

Handlers are routed by event type (system events, consent events); every
other subject event is a shareable one and goes through the entitlement
checks and rules 1-3 before its projectors run.  See docs/engine.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.sealing import is_sealed
from events.types import (
    AgencyRegistered,
    AgencyUpdated,
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ErasureExecuted,
    PlacementStarted,
    PolicyActivated,
    ProtectiveOrderIssued,
    RecordRectified,
    VictimIdentified,
)
from projectors.consent.agency_index import AgencyIndex
from projectors.consent.entitlements import refusal
from projectors.consent.ledger import AgencyProfile
from projectors.consent.recipients import Delivery, EventFacts
from projectors.consent.subject_state import SubjectState
from projectors.directory.roles import STATS_SCHEMA
from projectors.engine.batch import BatchScope
from projectors.engine.consent_history import record_consent
from projectors.engine.erasure import Erasure
from projectors.engine.rectification import Rectifier
from projectors.engine.sharing import GrantSharing, holding_of
from projectors.keys.keyring import subject_epoch
from projectors.log import LoggedEvent
from projectors.readmodels.sdk import EventView

IDENTIFIED = VictimIdentified.event_type
STATISTICS = AgencyProfile(STATS_SCHEMA, "auditor", "ZZ")
#: Routes that read and erase rows of their own subject only.
SUBJECT_ROUTES = frozenset(
    t.event_type for t in (ConsentGranted, ConsentWithdrawn, ConsentExpired, RecordRectified)
)


class Applier:
    """Applies events of one batch to the read models and the engine state."""

    def __init__(self, scope: BatchScope) -> None:
        self.scope = scope
        self.erasure = Erasure(scope, self.project)
        self.sharing = GrantSharing(scope, self.project, self.facts)
        self.rectifier = Rectifier(scope, self.project, self._statistics)
        self._routes: dict[str, Callable[[LoggedEvent], None]] = {
            AgencyRegistered.event_type: self._agency,
            AgencyUpdated.event_type: self._agency,
            PolicyActivated.event_type: self._policy,
            ConsentGranted.event_type: self._granted,
            ConsentWithdrawn.event_type: self._withdrawn,
            ConsentExpired.event_type: self._expired,
            ErasureExecuted.event_type: self.erasure.executed,
            RecordRectified.event_type: self._rectified,
        }

    def close(self) -> None:
        """Drop the helpers and routes once the batch is applied: they hold this applier's
        methods as it holds them, a cycle that kept the batch's whole state (its scope)
        alive until the garbage collector's next full run, batches later."""
        self._routes.clear()
        for helper in ("erasure", "sharing", "rectifier"):
            vars(self).pop(helper, None)

    def apply(self, logged: LoggedEvent) -> None:
        """Apply one event (the caller has dropped duplicates).

        Shareable events are decided in memory; a system event (and a future
        type) may read what earlier events of the batch wrote, so what was
        collected is written first.
        """
        self.scope.batch_events[logged.offset] = logged
        self.scope.batch_offsets.setdefault(logged.subject or "", []).append(logged.offset)
        route = self._routes.get(logged.event.type)
        if route is None:
            self._shareable(logged)
            return
        # A subject's consent or rectification reads and erases only that subject's rows,
        # and erases the ones collected where they are (``engine.subject_rows``).
        if logged.subject is None or logged.event.type not in SUBJECT_ROUTES:
            self.scope.flush()
        route(logged)

    # -- system events -------------------------------------------------

    def _agency(self, logged: LoggedEvent) -> None:
        data: Any = logged.event.data
        profile = AgencyProfile(data.agency_id, str(data.agency_type), data.jurisdiction)
        self.scope.context.register(self.scope.conn, profile)
        self.scope.ensure_schema(profile.id)

    def _policy(self, logged: LoggedEvent) -> None:
        digest = str(logged.event.data.digest)  # type: ignore[attr-defined]
        self.scope.policies.recipients(self.scope.conn, digest)  # fails loudly when unknown
        self.scope.context.activate(self.scope.conn, digest)

    # -- consent -------------------------------------------------------

    def _refused(self, logged: LoggedEvent, state: SubjectState) -> bool:
        event = logged.event
        producer = self.scope.profile(logged.producer)
        facts = self.merged_data(logged, state)
        if producer is None:
            reason: str | None = "unknown_producer"
        else:
            reason = refusal(event.type, producer, facts, state.subject_holders())
        if reason is None:
            return False
        self.scope.record_refusal(logged, str(reason))
        return True

    def _granted(self, logged: LoggedEvent) -> None:
        state = self.scope.state(logged.subject)
        if self._refused(logged, state):
            return
        state.consent.apply(logged.event.data)
        self.erasure.granted(logged, state)
        record_consent(self.scope, logged, "granted")
        self.sharing.share(logged, str(logged.data["consent_id"]), state)

    def _withdrawn(self, logged: LoggedEvent) -> None:
        state = self.scope.state(logged.subject)
        if self._refused(logged, state):
            return
        before = set(state.consent.grants)
        self.erasure.withdrawn(logged, state)
        ended = sorted(before - set(state.consent.grants))
        record_consent(self.scope, logged, "withdrawn", {"ended_consent_ids": ended})

    def _expired(self, logged: LoggedEvent) -> None:
        if logged.subject is not None:
            record_consent(self.scope, logged, "expired")
        self.erasure.expired(logged)

    def _rectified(self, logged: LoggedEvent) -> None:
        state = self.scope.state(logged.subject)
        fields = logged.data.get("fields", {})
        state.max_epoch = max(state.max_epoch, highest_epoch(fields, logged.subject))
        self.rectifier.apply(logged, state)

    # -- shareable events ----------------------------------------------

    def _shareable(self, logged: LoggedEvent) -> None:
        if logged.event.is_system or logged.subject is None:
            return  # a future system type: nothing to project
        state = self.scope.state(logged.subject)
        if self._refused(logged, state):
            return
        self._remember(logged, state)
        decider = self.scope.recipients()
        facts = self.facts(logged, state)
        agencies = self.scope.context.agencies
        producer = self.scope.profile(logged.producer)
        if producer is not None and producer.id not in agencies:
            agencies = AgencyIndex([*agencies.values(), producer])  # not yet registered here
        deliveries = sorted(decider.decide(facts, state.consent, agencies).items())
        for agency_id, delivery in deliveries:
            self.deliver(logged, agencies[agency_id], delivery, state)
        self._statistics(logged)

    def deliver(
        self, logged: LoggedEvent, agency: AgencyProfile, delivery: Delivery, state: SubjectState
    ) -> None:
        """Run the projectors of one recipient and record what it now holds."""
        self.project(logged, agency, delivery.fields, delivery.bases)
        self.scope.delivered.setdefault(logged.offset, []).append(agency.id)
        grant = (delivery.fields, delivery.bases)
        self.scope.holdings.add(holding_of(self.scope, logged, agency.id, grant, logged.event.time))
        state.seen_by.add(agency.id)
        if logged.event.type == IDENTIFIED:
            state.hold(agency.id, lawful_only=not ({"producer", "consent"} & delivery.bases))
        if delivery.lawful_bases and delivery.lawful_fields:
            self.scope.retain(logged, agency.id, delivery)

    def project(
        self,
        logged: LoggedEvent,
        agency: AgencyProfile,
        fields: frozenset[str],
        bases: frozenset[str],
    ) -> None:
        """Call every projector handler of the event with the agency's view."""
        bound = logged.bound_data
        # A recipient of every field (the producer, often) takes a plain copy.
        data = (
            dict(bound)
            if fields.issuperset(bound)
            else {k: v for k, v in bound.items() if k in fields}
        )
        view = self._view(logged, agency, data, bases)
        rows = self.scope.rows_for(agency.id, view.subject_id)
        for handler in self.scope.registry.handlers_for(logged.event.type, agency.agency_type):
            handler(rows, view)

    def _statistics(self, logged: LoggedEvent) -> None:
        handlers = self.scope.registry.handlers_for(logged.event.type, None)
        if not handlers:
            return
        data = {k: v for k, v in logged.data.items() if not is_sealed(v)}
        view = self._view(logged, STATISTICS, data, frozenset({"statistics"}))
        rows = self.scope.stats_rows(view.subject_id)
        for handler in handlers:
            handler(rows, view)

    def _view(
        self,
        logged: LoggedEvent,
        agency: AgencyProfile,
        data: dict[str, Any],
        bases: frozenset[str],
    ) -> EventView:
        """What a projector handler sees of one event, as one agency."""
        event = logged.event
        return EventView.made(
            event.id,
            event.type,
            logged.subject or "",
            event.time,
            logged.producer,
            event.jurisdiction,
            agency,
            data,
            bases,
            (self.scope.context.partition, logged.offset),
        )

    def facts(self, logged: LoggedEvent, state: SubjectState) -> EventFacts:
        """What the delivery rules read of the event and its subject now."""
        return EventFacts(
            event_type=logged.event.type,
            producer=logged.producer,
            jurisdiction=logged.event.jurisdiction,
            data=self.merged_data(logged, state),
            subject_is_minor=state.is_minor,
        )

    @staticmethod
    def merged_data(logged: LoggedEvent, state: SubjectState) -> dict[str, Any]:
        """The event's data plus what its start or order said (``key_field``)."""
        data = dict(logged.data)
        shelter = state.placements.get(str(data.get("placement_id")))
        if shelter is not None:
            data.setdefault("shelter_agency", shelter)
        for name, value in state.orders.get(str(data.get("order_id")), {}).items():
            data.setdefault(name, value)
        return data

    @staticmethod
    def _remember(logged: LoggedEvent, state: SubjectState) -> None:
        data, event_type = logged.data, logged.event.type
        if event_type == IDENTIFIED:
            state.identifying_agency = state.identifying_agency or logged.producer
            state.is_minor = bool(data.get("is_minor"))
        if event_type == PlacementStarted.event_type:
            state.placements[str(data["placement_id"])] = str(data["shelter_agency"])
        if event_type == ProtectiveOrderIssued.event_type:
            state.orders[str(data["order_id"])] = {
                "issuing_jurisdiction": data["issuing_jurisdiction"],
                "recognized_in": list(data["recognized_in"]),
            }
        state.max_epoch = max(state.max_epoch, highest_epoch(logged.data, logged.subject))


def highest_epoch(data: dict[str, Any], subject: str | None) -> int:
    """The highest key epoch of the subject among an event's sealed fields (-1: none)."""
    epochs = [
        subject_epoch(str(value.get("kid", "")), subject)
        for value in data.values()
        if isinstance(value, dict) and subject is not None
    ]
    return max((epoch for epoch in epochs if epoch is not None), default=-1)
