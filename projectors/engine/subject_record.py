"""A subject's record: its accepted events, as corrected by rectifications.

Events of earlier batches come from the sealed archive (``log_archive``, with
the audit ledger saying which were applied); events of the running batch
from memory, since the archive is written when the batch commits.  A
rectification's corrected fields replace the target's; a retraction removes
the target from the record (docs/survivor-rights.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text

from projectors.engine.batch import BatchScope
from projectors.log import LoggedEvent, LogRecord, parse_record


@dataclass(frozen=True)
class Correction:
    """One accepted rectification of a target event."""

    offset: int
    event_id: str
    corrected: dict[str, Any]
    retract: bool


def events_at(scope: BatchScope, offsets: Iterable[int]) -> dict[int, LoggedEvent]:
    """The events at these offsets of the batch's partition (batch first, then archive)."""
    wanted = set(offsets)
    found = {o: scope.batch_events[o] for o in wanted if o in scope.batch_events}
    found |= {o: scope.archived[o] for o in wanted - set(found) if o in scope.archived}
    missing = sorted(wanted - set(found))
    if missing:
        rows = scope.conn.execute(
            text(
                "SELECT log_offset, record_value FROM haven_core.log_archive"
                " WHERE topic = :t AND partition = :p AND log_offset = ANY(:o)"
            ),
            {"t": scope.context.topic, "p": scope.context.partition, "o": missing},
        )
        fetched = {row[0]: parse_record(LogRecord(row[0], bytes(row[1]))) for row in rows}
        scope.archived.update(fetched)  # the archive never changes: read each record once
        found |= fetched
    return found


def record_events(scope: BatchScope, subject: str, after: int) -> list[LoggedEvent]:
    """Accepted shareable events of the subject after offset ``after``, in log order."""
    shareable = scope.recipients().policy.family_of
    rows = scope.conn.execute(
        text(
            "SELECT log_offset, event_type FROM haven_core.audit_ledger"
            " WHERE subject_id = :s AND topic = :t AND partition = :p"
            " AND log_offset > :a AND outcome = 'applied'"
        ),
        {"s": subject, "t": scope.context.topic, "p": scope.context.partition, "a": after},
    )
    offsets = {row[0] for row in rows if shareable(row[1]) is not None}
    offsets |= {
        offset
        for offset, logged in scope.batch_events.items()
        if offset > after
        and logged.subject == subject
        and offset not in scope.refused
        and shareable(logged.event.type) is not None
    }
    found = events_at(scope, offsets)
    return [found[o] for o in sorted(found)]


def corrections(scope: BatchScope, subject: str) -> dict[int, list[Correction]]:
    """Accepted rectifications of the subject by target offset, in log order."""
    rows = scope.conn.execute(
        text(
            "SELECT target_offset, log_offset, rectification_event_id, corrected, retract"
            " FROM haven_core.rectifications WHERE subject_id = :s AND topic = :t"
            " AND partition = :p ORDER BY log_offset"
        ),
        {"s": subject, "t": scope.context.topic, "p": scope.context.partition},
    )
    found: dict[int, list[Correction]] = {}
    for target, offset, event_id, corrected, retract in rows:
        found.setdefault(target, []).append(Correction(offset, event_id, dict(corrected), retract))
    return found


def corrected(logged: LoggedEvent, fixes: dict[int, list[Correction]]) -> LoggedEvent | None:
    """The event as its rectifications left it; None once it was retracted."""
    data = dict(logged.data)
    for fix in fixes.get(logged.offset, []):
        if fix.retract:
            return None
        data.update(fix.corrected)
    return replace(logged, data=data) if logged.offset in fixes else logged
