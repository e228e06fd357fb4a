"""``haven engine parked`` / ``retry``: list parked events, apply them again after a fix.

A retry takes the partition's advisory lock (so it never interleaves with a
live batch), reads the parked events of each subject in log order from the
log archive and applies them through the same :class:`Parking` routine as a
batch, isolating each one: what applies leaves the parked table (its parking
note leaves the producer's ``refusals``), what fails again stays parked with
every later event of its subject.  Withdrawals that were applied at once are
applied again at their place in the sequence.  The log position never moves.
See docs/engine.md "Poison events are parked".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from projectors.engine.applied import drop_applied, load_subjects, save
from projectors.engine.apply import Applier
from projectors.engine.batch import BatchScope
from projectors.engine.context import PartitionContext
from projectors.engine.core import EngineCore
from projectors.engine.parking import Parking
from projectors.log import LoggedEvent, LogRecord, parse_record


@dataclass(frozen=True)
class ParkedEvent:
    """One parked event as listed (ids, type and reason: no personal data)."""

    topic: str
    partition: int
    offset: int
    subject_id: str
    event_id: str
    event_type: str
    producer: str
    reason: str
    applied_through: bool
    parked_at: datetime


def list_parked(engine: Engine, topic: str, subject: str | None = None) -> list[ParkedEvent]:
    """Every parked event of ``topic`` (of one subject), in log order per partition."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT topic, partition, log_offset, subject_id, event_id, event_type, producer,"
                " reason, applied_through, parked_at FROM haven_core.parked_events"
                " WHERE topic = :t AND (CAST(:s AS text) IS NULL OR subject_id = :s)"
                " ORDER BY partition, log_offset"
            ),
            {"t": topic, "s": subject},
        )
        return [ParkedEvent(*row) for row in rows]


def retry_parked(core: EngineCore, topic: str, subject: str | None = None) -> Counter[str]:
    """Apply parked events again, partition by partition; counts what became of them."""
    counts: Counter[str] = Counter()
    for partition in sorted({p.partition for p in list_parked(core.engine, topic, subject)}):
        with core.engine.begin() as conn:
            counts += _retry_partition(core, conn, topic, partition, subject)
    return counts


def _retry_partition(
    core: EngineCore, conn: Connection, topic: str, partition: int, subject: str | None
) -> Counter[str]:
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:t), :p)"), {"t": topic, "p": partition}
    )
    rows = conn.execute(
        text(
            "SELECT p.log_offset, p.applied_through, a.record_value"
            " FROM haven_core.parked_events p JOIN haven_core.log_archive a"
            " USING (topic, partition, log_offset)"
            " WHERE p.topic = :t AND p.partition = :p"
            " AND (CAST(:s AS text) IS NULL OR p.subject_id = :s) ORDER BY p.log_offset"
        ),
        {"t": topic, "p": partition, "s": subject},
    ).all()
    parked = [(parse_record(LogRecord(row[0], bytes(row[2]))), bool(row[1])) for row in rows]
    # Parked or not, every subject here is retried (in isolation, below).
    states, _ = load_subjects(conn, topic, partition, {e.subject for e, _ in parked if e.subject})
    scope = BatchScope(
        conn,
        PartitionContext.load(conn, topic, partition),
        core.policies,
        core.registry,
        core.settings,
        states,
        set(),
    )
    parking = Parking(scope, Applier(scope), set(), isolate=True)
    fresh = {
        e.offset for e in drop_applied(conn, topic, partition, [e for e, t in parked if not t])
    }
    applied: list[LoggedEvent] = []
    for logged, through in parked:
        if not through and logged.offset not in fresh:
            _resolve(conn, topic, partition, logged, "duplicate")
            scope.counts["duplicates"] += 1
            continue
        _forget_parking_note(scope, logged)
        if parking.apply(logged):
            if not through:
                applied.append(logged)
            _resolve(conn, topic, partition, logged, "retried")
        else:
            _history(conn, topic, partition, logged, "parked_again")
    save(conn, topic, partition, applied, scope.states)
    scope.flush()
    scope.counts["retried"] = len(parked) - len(parking.offsets) - scope.counts["duplicates"]
    scope.counts["still_parked"] = len(parking.offsets)
    return scope.counts


def _forget_parking_note(scope: BatchScope, logged: LoggedEvent) -> None:
    scope.conn.execute(
        text(
            "DELETE FROM haven_core.refusals WHERE source = :s AND event_id = :i"
            " AND reason LIKE 'parked:%'"
        ),
        {"s": logged.event.source, "i": logged.event.id},
    )
    refusals = scope.registry.refusals()
    if refusals is not None and scope.profile(logged.producer) is not None:
        refusals.forget(scope.rows_for(logged.producer), logged.event.id)


def _resolve(
    conn: Connection, topic: str, partition: int, logged: LoggedEvent, action: str
) -> None:
    _history(conn, topic, partition, logged, action)
    conn.execute(
        text(
            "DELETE FROM haven_core.parked_events"
            " WHERE topic = :t AND partition = :p AND log_offset = :o"
        ),
        {"t": topic, "p": partition, "o": logged.offset},
    )


def _history(
    conn: Connection, topic: str, partition: int, logged: LoggedEvent, action: str
) -> None:
    conn.execute(
        text(
            "INSERT INTO haven_core.parking_history"
            " (topic, partition, log_offset, subject_id, event_id, action, reason)"
            " SELECT topic, partition, log_offset, subject_id, event_id, :a, reason"
            " FROM haven_core.parked_events"
            " WHERE topic = :t AND partition = :p AND log_offset = :o"
        ),
        {"t": topic, "p": partition, "o": logged.offset, "a": action},
    )
