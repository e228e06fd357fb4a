"""Withdrawal, expiry and grants: erase in-scope rows, rebuild rule-3 rows, receipt.

Everything happens in the batch transaction of the withdrawal's offset: the
erasure, the receipts, the notices and the key-destruction schedule.  See
docs/engine.md "Withdrawal and expiry".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from events.types.consent import AgenciesScope, ConsentIdsScope
from projectors.consent.entitlements import erasure_honoured
from projectors.consent.ledger import AgencyProfile, Grant
from projectors.consent.subject_state import SubjectState
from projectors.directory.agencies import schema_name
from projectors.directory.roles import STATS_SCHEMA
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import RECEIPTS
from projectors.engine.lawful_rebuild import (
    Retained,
    kept_rows,
    rebuild_lawful,
    retained_from,
    retained_read,
)
from projectors.engine.receipts import KeyAction, write_notice, write_receipt
from projectors.engine.subject_rows import erase_subjects
from projectors.keys.destruction import (
    DueErasure,
    cancel_pending,
    destroy_subject_epochs,
    mark_destroyed,
)
from projectors.log import LoggedEvent

Project = Callable[[LoggedEvent, AgencyProfile, frozenset[str], frozenset[str]], None]
NOT_HONOURED = (
    "erase_personal_data is honoured only from the identifying agency,"
    " a coordinator or a legal_aid agency"
)


class Erasure:
    """Consent-driven erasure inside one batch."""

    def __init__(self, scope: BatchScope, project: Project) -> None:
        self.scope = scope
        self._project = project

    def granted(self, logged: LoggedEvent, state: SubjectState) -> None:
        """Schedule the grant's expiry; cancel a pending key destruction."""
        data: Any = logged.event.data
        subject = str(logged.subject)
        if data.expires_at is not None:
            self.scope.expiries.schedule(subject, data.consent_id, data.expires_at)
        if subject not in self.scope.unscheduled:
            self.scope.books.flush(self.scope.conn, (RECEIPTS,))  # what a cancelling marks
            if cancel_pending(self.scope.conn, subject):
                self.scope.counts["erasures_cancelled"] += 1
        del state

    def withdrawn(self, logged: LoggedEvent, state: SubjectState) -> None:
        """End grants, erase what was derived in scope, schedule key destruction."""
        data: Any = logged.event.data
        before = dict(state.consent.grants)
        key = self._key_action(logged, state) if data.erase_personal_data else KeyAction("none")
        change = state.consent.apply(data)
        if isinstance(data.scope, AgenciesScope):
            in_scope = set(data.scope.agencies) & state.seen_by
        elif isinstance(data.scope, ConsentIdsScope):
            in_scope = self._covered(state, [before[c] for c in change.ended_grants])
        else:
            in_scope = set(state.seen_by)
        self.scope.expiries.forget(str(logged.subject), change.ended_grants)
        if change.scope_all:
            state.record_from = logged.offset
        cause = f"withdrawal:{_scope_name(data.scope)}"
        # Statistics facts go with an ``all`` withdrawal too (the stricter reading).
        self.erase(logged, state, in_scope, cause, key, statistics=change.scope_all)

    def expired(self, logged: LoggedEvent) -> None:
        """``haven.consent.expired.v1``: that grant ends, like a ``consent_ids`` withdrawal."""
        if logged.subject is None:
            return
        state = self.scope.state(logged.subject)
        grant = state.consent.grants.get(str(logged.event.data.consent_id))  # type: ignore[attr-defined]
        in_scope = self._covered(state, [grant] if grant else [])
        state.consent.apply(logged.event.data)
        self.erase(logged, state, in_scope, "expiry", KeyAction("none"))

    def executed(self, logged: LoggedEvent) -> None:
        """``haven.erasure.executed.v1`` came back through the log: receipts say so."""
        data: Any = logged.event.data
        mark_destroyed(self.scope.conn, data.withdrawal_event_id, list(data.key_ids))

    def _covered(self, state: SubjectState, grants: list[Grant]) -> set[str]:
        covered = set()
        for agency_id in state.seen_by:
            profile = self.scope.profile(agency_id)
            if profile is not None and any(g.covers(profile) for g in grants):
                covered.add(agency_id)
        return covered

    def _key_action(self, logged: LoggedEvent, state: SubjectState) -> KeyAction:
        producer = self.scope.profile(logged.producer)
        if producer is None or not erasure_honoured(producer, state.subject_holders()):
            return KeyAction("not_honoured", reason=NOT_HONOURED)
        hold = self.scope.settings.erasure_hold_s
        self.scope.unscheduled.discard(str(logged.subject))
        due = datetime.now(UTC) + timedelta(seconds=min(hold, 100 * 365 * 86400.0))
        self.scope.conn.execute(
            text(
                "INSERT INTO haven_core.scheduled_erasures"
                " (withdrawal_event_id, subject_id, max_epoch, due_at)"
                " VALUES (:w, :s, :e, :d) ON CONFLICT DO NOTHING"
            ),
            {"w": logged.event.id, "s": logged.subject, "e": state.max_epoch, "d": due},
        )
        return KeyAction("scheduled", due_at=due)

    def erase(
        self,
        logged: LoggedEvent,
        state: SubjectState,
        in_scope: set[str],
        cause: str,
        key: KeyAction,
        *,
        statistics: bool = False,
    ) -> None:
        """Erase and rebuild each in-scope agency's rows about the subject (and its
        statistics facts); receipts, notices.  The stored rows of every schema are
        deleted in one round trip with the read of the deliveries a lawful basis
        keeps (``subject_rows.erase_subjects``), then each
        agency's lawful rows are rebuilt."""
        subject = str(logged.subject)
        agencies = sorted(in_scope)
        self.scope.holdings.drop(subject, agencies)
        read = retained_read(self.scope, subject, agencies)
        consent_based = self.scope.consent_based()
        targets = [(self.scope.conn_for(a), schema_name(a), consent_based) for a in agencies]
        if statistics and self.scope.registry.statistics():
            stats = (self.scope.stats_conn(), STATS_SCHEMA, self.scope.registry.statistics())
            targets.insert(0, stats)
        erased_all, retained_rows = erase_subjects(self.scope, subject, targets, read)
        retained = retained_from(retained_rows)
        erased_in = erased_all[len(erased_all) - len(agencies) :]  # the statistics' go
        for agency_id, erased in zip(agencies, erased_in, strict=True):
            kept, bases = self._rebuild_agency(
                logged, state, agency_id, erased, retained.get(agency_id, [])
            )
            net = {name: max(erased[name] - kept[name], 0) for name in erased}
            for name in erased:
                counts = (net[name], kept[name], bases if kept[name] else ())
                write_receipt(self.scope, logged, agency_id, name, cause, counts, key)
            if sum(net.values()):
                write_notice(self.scope, logged, agency_id, cause, sum(net.values()))
        write_receipt(self.scope, logged, "*", "*", cause, (0, 0, ()), key)
        self.scope.counts["erasures"] += 1
        if key.action == "scheduled" and self.scope.settings.erasure_hold_s <= 0:
            self.scope.books.flush(self.scope.conn)  # the receipts the destruction marks
            due = DueErasure(logged.event.id, subject, state.max_epoch)
            self.scope.destroyed_kids += destroy_subject_epochs(self.scope.conn, due)

    def _rebuild_agency(
        self,
        logged: LoggedEvent,
        state: SubjectState,
        agency_id: str,
        erased: dict[str, int],
        retained: list[Retained],
    ) -> tuple[dict[str, int], tuple[str, ...]]:
        """After the erasure of the agency's rows: rebuild what a lawful basis keeps; the
        rows kept per projector and their bases."""
        subject = str(logged.subject)
        state.holders.pop(agency_id, None)
        with self.scope.apart() as rows:
            rebuilt, bases = rebuild_lawful(
                self.scope, self._project, (logged, state), agency_id, retained
            )
        # Nothing rebuilt: every row about the subject was just deleted, none can be left.
        kept = (
            kept_rows(self.scope, rows, subject, agency_id) if rebuilt else dict.fromkeys(erased, 0)
        )
        if not sum(kept.values()):
            state.seen_by.discard(agency_id)
        return kept, bases


def _scope_name(scope: object) -> str:
    if isinstance(scope, AgenciesScope):
        return "agencies"
    if isinstance(scope, ConsentIdsScope):
        return "consent_ids"
    return "all"
