"""A subject's record: its accepted events, as corrected by rectifications.

Events of earlier batches come from the sealed archive (``log_archive``, with
the audit ledger saying which were applied); events of the running batch
from memory, since the archive is written when the batch commits.  A
rectification's corrected fields replace the target's; a retraction removes
the target from the record (docs/survivor-rights.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text

from infra.db import Statement, read_together
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
    ledger = scope.ledger.get(subject)
    if ledger is None:
        rows = scope.conn.execute(
            text(
                "SELECT log_offset, event_type FROM haven_core.audit_ledger"
                " WHERE subject_id = :s AND topic = :t AND partition = :p"
                " AND log_offset > :a AND outcome = 'applied'"
            ),
            {"s": subject, "t": scope.context.topic, "p": scope.context.partition, "a": after},
        )
        ledger = [(row[0], row[1]) for row in rows]
    offsets = {o for o, event_type in ledger if o > after and shareable(event_type) is not None}
    offsets |= {
        offset
        for offset in scope.batch_offsets.get(subject, ())
        if offset > after
        and offset in scope.batch_events  # not rolled back (parked)
        and offset not in scope.refused
        and shareable(scope.batch_events[offset].event.type) is not None
    }
    found = events_at(scope, offsets)
    return [found[o] for o in sorted(found)]


def corrections(scope: BatchScope, subject: str) -> dict[int, list[Correction]]:
    """Accepted rectifications of the subject by target offset, in log order."""
    if subject in scope.fixes:
        return {target: list(fixes) for target, fixes in scope.fixes[subject].items()}
    found: dict[int, list[Correction]] = {}
    for _, (target, fix) in corrections_of(scope, [subject]):
        found.setdefault(target, []).append(fix)
    return found


def corrections_statement(subjects: list[str], topic: str, partition: int) -> Statement:
    """The accepted rectifications of ``subjects`` in ``topic[partition]``, in log order
    (:func:`corrections_from`)."""
    return (
        "SELECT subject_id, target_offset, log_offset, rectification_event_id, corrected,"
        " retract FROM haven_core.rectifications WHERE subject_id = ANY(%(s)s)"
        " AND topic = %(t)s AND partition = %(p)s ORDER BY log_offset",
        {"s": subjects, "t": topic, "p": partition},
    )


def corrections_from(
    rows: Iterable[Sequence[Any]],
) -> Iterator[tuple[str, tuple[int, Correction]]]:
    """(subject, (target offset, correction)) of what :func:`corrections_statement` read."""
    for subject, target, offset, event_id, corrected, retract in rows:
        yield subject, (target, Correction(offset, event_id, dict(corrected), retract))


def corrections_of(
    scope: BatchScope, subjects: list[str]
) -> Iterator[tuple[str, tuple[int, Correction]]]:
    """(subject, (target offset, correction)) of the subjects, in log order."""
    if not subjects:
        return
    statement = corrections_statement(subjects, scope.context.topic, scope.context.partition)
    (rows,) = read_together(scope.conn, [statement])
    yield from corrections_from(rows)


def corrected(logged: LoggedEvent, fixes: dict[int, list[Correction]]) -> LoggedEvent | None:
    """The event as its rectifications left it; None once it was retracted."""
    data = dict(logged.data)
    for fix in fixes.get(logged.offset, []):
        if fix.retract:
            return None
        data.update(fix.corrected)
    return replace(logged, data=data) if logged.offset in fixes else logged
