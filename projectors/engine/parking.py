"""Poison events are parked per subject, so that the partition goes on.

Inside a batch, :class:`Parking` routes each event: an event of a parked
subject is held (parked behind the first one) unless it is a withdrawal, an
expiry or an erasure execution, which apply at once; in isolating mode every
event runs in its own savepoint, up to :data:`ATTEMPTS` times, and one that
still fails is parked with its subject.  See docs/engine.md "Poison events
are parked".
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from projectors.consent.subject_state import SubjectState
from projectors.engine.apply import Applier, highest_epoch
from projectors.engine.batch import BatchScope
from projectors.log import LoggedEvent

logger = logging.getLogger("haven.engine")

#: Types that are never held back behind a parked event of their subject.
PASS_THROUGH: Final = frozenset(
    {"haven.consent.withdrawn.v1", "haven.consent.expired.v1", "haven.erasure.executed.v1"}
)
#: Tries of one event in its savepoint before it is parked.
ATTEMPTS: Final = 3
HELD: Final = "parked:subject_parked"


def failure_reason(error: BaseException) -> str:
    """The parking reason: the error's class only (its message may hold values)."""
    return f"parked:engine_error:{type(error).__name__}"


def connection_lost(error: BaseException) -> bool:
    """A database outage, not a poison event: the batch fails and is retried whole."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


@dataclass
class _Snapshot:
    """What an event may change in memory, to undo when its savepoint rolls back."""

    subject: str
    state: dict[str, object] | None
    destroyed: int
    counts: Counter[str]

    @classmethod
    def take(cls, scope: BatchScope, subject: str) -> _Snapshot:
        state = scope.states.get(subject)
        return cls(
            subject,
            None if state is None else state.to_json(),
            len(scope.destroyed_kids),
            Counter(scope.counts),
        )

    def restore(self, scope: BatchScope, offset: int) -> None:
        if self.state is None:
            scope.states.pop(self.subject, None)
        else:
            scope.states[self.subject] = SubjectState.from_json(self.state)
        del scope.destroyed_kids[self.destroyed :]
        scope.counts.clear()
        scope.counts.update(self.counts)
        scope.delivered.pop(offset, None)
        scope.refused.discard(offset)
        # Whatever the event collected and did not write goes with it.
        scope.discard()
        scope.batch_events.pop(offset, None)


class Parking:
    """Applies the events of one transaction, parking per subject."""

    def __init__(
        self, scope: BatchScope, applier: Applier, parked: set[str], *, isolate: bool
    ) -> None:
        self.scope = scope
        self.applier = applier
        self.parked = parked
        self.isolate = isolate
        #: Offsets parked in this transaction (the ledger's ``parked`` outcome).
        self.offsets: set[int] = set()

    def apply(self, logged: LoggedEvent) -> bool:
        """Apply or park one event; True when it was applied."""
        subject = logged.subject
        if subject in self.parked and logged.event.type not in PASS_THROUGH:
            self.park(logged, HELD)
            return False
        if self.isolate and subject:
            failure = self._isolated(logged, subject)
            if failure is not None:
                self.parked.add(subject)
                self.park(logged, failure_reason(failure))
                logger.error(
                    "engine event parked",
                    extra={
                        "partition": self.scope.context.partition,
                        "offset": logged.offset,
                        "event_type": logged.event.type,
                        "error": type(failure).__name__,
                    },
                )
                return False
        else:
            self.applier.apply(logged)
        if subject in self.parked:
            self._record(logged, "applied_through", applied_through=True)
        return True

    def _isolated(self, logged: LoggedEvent, subject: str) -> Exception | None:
        # Written before the savepoint, so that a rollback loses only this event's changes;
        # the event's own are written inside it, so that a failing write parks it.
        self.scope.flush()
        snapshot = _Snapshot.take(self.scope, subject)
        failure: Exception | None = None
        for _ in range(ATTEMPTS):
            try:
                with self.scope.conn.begin_nested():
                    self.applier.apply(logged)
                    self.scope.flush()
                return None
            except Exception as error:
                if connection_lost(error):
                    raise
                snapshot.restore(self.scope, logged.offset)
                failure = error
        return failure

    def park(self, logged: LoggedEvent, reason: str) -> None:
        """Set the event aside (no personal data) and tell its producer why."""
        self.offsets.add(logged.offset)
        self.scope.counts["parked"] += 1
        # Seen, if not applied: an erasing withdrawal destroys the key epochs of parked fields too.
        state = self.scope.state(logged.subject)
        state.max_epoch = max(state.max_epoch, highest_epoch(logged.data, logged.subject))
        self._record(logged, reason, applied_through=False)
        self.scope.note_refusal(logged, reason)

    def _record(self, logged: LoggedEvent, reason: str, *, applied_through: bool) -> None:
        self.scope.conn.execute(
            text(
                "INSERT INTO haven_core.parked_events (topic, partition, log_offset, subject_id,"
                " source, event_id, event_type, producer, reason, applied_through)"
                " VALUES (:t, :p, :o, :s, :src, :i, :y, :pr, :r, :a)"
                " ON CONFLICT (topic, partition, log_offset) DO UPDATE SET reason = :r"
            ),
            {
                "t": self.scope.context.topic,
                "p": self.scope.context.partition,
                "o": logged.offset,
                "s": logged.subject,
                "src": logged.event.source,
                "i": logged.event.id,
                "y": logged.event.type,
                "pr": logged.producer,
                "r": reason,
                "a": applied_through,
            },
        )
