"""``haven.record.rectified.v1``: correct or retract an earlier event everywhere it went.

The target must be an accepted, not retracted, rectifiable event of the same
subject; only its producer or a coordinator of its jurisdiction may rectify
it.  Every agency that holds the target gets its rows about the subject
rebuilt with the corrected event (through the fields it holds it with) and a
notice; a retraction removes the event from every holding, the retained
lawful-basis deliveries and the statistics (docs/survivor-rights.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text

from events.registry import REGISTRY
from events.sealing import bind_to_event, is_sealed
from events.types.record import RECTIFIABLE, partial_model
from projectors.consent.entitlements import Refusal, rectify_refusal
from projectors.consent.subject_state import SubjectState
from projectors.directory.roles import STATS_SCHEMA
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import RETAINED
from projectors.engine.corrections import insert_rectification, rectification_notice
from projectors.engine.sharing import IDENTIFIED, Project, by_agency, rebuild_agency
from projectors.engine.subject_record import corrected, corrections, events_at, record_events
from projectors.engine.subject_rows import erase_subject
from projectors.log import LoggedEvent

RECTIFIABLE_TYPES = frozenset(model.event_type for model in RECTIFIABLE)


class Rectifier:
    """Applies accepted rectifications inside one batch."""

    def __init__(
        self, scope: BatchScope, project: Project, statistics: Callable[[LoggedEvent], None]
    ) -> None:
        self.scope = scope
        self._project = project
        self._statistics = statistics

    def apply(self, logged: LoggedEvent, state: SubjectState) -> None:
        """Refuse, or correct every holder's rows, notify them, keep the audit record."""
        data: Any = logged.event.data
        target = self._target(logged, str(data.target_event_id))
        reason = self._refusal(logged, target, data)
        if reason is not None or target is None:
            self.scope.record_refusal(logged, str(reason))
            return
        given: dict[str, Any] = dict(logged.data.get("fields", {}))
        bound = {
            name: bind_to_event(v, logged.event.id, f"data.fields.{name}") if is_sealed(v) else v
            for name, v in given.items()
        }
        subject, context = str(logged.subject), self.scope.context
        held = by_agency(
            self.scope.holdings.held(self.scope.conn, subject, context.topic, context.partition)
        )
        holders = sorted(a for a, events in held.items() if target.offset in events)
        insert_rectification(self.scope, logged, target, bound, holders)
        fixes = corrections(self.scope, subject)
        for agency_id in holders:
            profile = self.scope.profile(agency_id)
            if profile is not None:
                rebuild_agency(self.scope, self._project, profile, held[agency_id], fixes)
            rectification_notice(self.scope, logged, target, agency_id, sorted(given))
        if data.retract:
            self._forget(subject, target)
        self._adjust_state(state, target, bound, held, holders, bool(data.retract))
        self._rebuild_statistics(subject, state)
        self.scope.delivered.setdefault(logged.offset, []).extend(holders)
        self.scope.counts["rectified"] += 1

    def _target(self, logged: LoggedEvent, target_id: str) -> LoggedEvent | None:
        # The subject's events of this batch (not those of every subject), in log order.
        for offset in sorted(self.scope.batch_offsets.get(logged.subject or "", ())):
            if offset >= logged.offset:
                break
            event = self.scope.batch_events.get(offset)  # None: rolled back (parked)
            if event and event.event.id == target_id and offset not in self.scope.refused:
                return event
        context = self.scope.context
        found: int | None = self.scope.conn.execute(
            text(
                "SELECT min(log_offset) FROM haven_core.audit_ledger WHERE subject_id = :s"
                " AND topic = :t AND partition = :p AND event_id = :e AND outcome = 'applied'"
            ),
            {"s": logged.subject, "t": context.topic, "p": context.partition, "e": target_id},
        ).scalar()
        return None if found is None else events_at(self.scope, [found]).get(found)

    def _refusal(self, logged: LoggedEvent, target: LoggedEvent | None, data: Any) -> str | None:
        if target is None or target.event.type not in RECTIFIABLE_TYPES:
            return Refusal.UNKNOWN_TARGET
        if corrected(target, corrections(self.scope, str(logged.subject))) is None:
            return Refusal.UNKNOWN_TARGET  # already retracted
        producer = self.scope.profile(logged.producer)
        if producer is None:
            return "unknown_producer"
        refused = rectify_refusal(producer, target.producer, target.event.jurisdiction)
        if refused is not None:
            return refused
        given = logged.data.get("fields", {})
        if bool(data.retract) == bool(given):
            return Refusal.RECTIFICATION_MISMATCH  # retract goes with no fields, else some
        try:
            partial_model(REGISTRY.model(target.event.type), sealed=True).model_validate_json(
                json.dumps(given)
            )
        except ValidationError:
            return Refusal.RECTIFICATION_MISMATCH
        return None

    def _forget(self, subject: str, target: LoggedEvent) -> None:
        context = self.scope.context
        self.scope.holdings.forget_event(
            self.scope.conn, subject, context.topic, context.partition, target.offset
        )
        self.scope.books.flush(self.scope.conn, (RETAINED,))  # deleted below when retained
        self.scope.conn.execute(
            text(
                "DELETE FROM haven_core.retained_deliveries WHERE subject_id = :s"
                " AND partition = :p AND log_offset = :o"
            ),
            {"s": subject, "p": context.partition, "o": target.offset},
        )

    @staticmethod
    def _adjust_state(
        state: SubjectState,
        target: LoggedEvent,
        bound: dict[str, Any],
        held: dict[str, dict[int, Any]],
        holders: list[str],
        retract: bool,
    ) -> None:
        if target.event.type != IDENTIFIED:
            return
        if "is_minor" in bound:
            state.is_minor = bool(bound["is_minor"])
        if not retract:
            return
        for agency_id in holders:
            others = [
                h
                for o, h in held[agency_id].items()
                if o != target.offset and h.event_type == IDENTIFIED
            ]
            if not others:
                state.holders.pop(agency_id, None)

    def _rebuild_statistics(self, subject: str, state: SubjectState) -> None:
        statistics = self.scope.registry.statistics()
        if not statistics:
            return
        erase_subject(self.scope, self.scope.stats_conn(), STATS_SCHEMA, statistics, subject)
        fixes = corrections(self.scope, subject)
        for logged in record_events(self.scope, subject, state.record_from):
            event = corrected(logged, fixes)
            if event is not None:
                self._statistics(event)
