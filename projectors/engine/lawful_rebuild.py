"""After an erasure: the deliveries a rule-3 lawful basis keeps, rebuilt and counted.

The erasure deleted the subject's rows in the agency's schema; the
deliveries it received under a lawful basis (``haven_core.retained_deliveries``)
are projected again, and the rows they leave are counted in memory when that
is certain (``projectors.readmodels.erasing.settle_erased``), else written and
counted (docs/engine.md "Withdrawal and expiry").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from events.codec import parse_log_dict
from events.types import VictimIdentified
from infra.db import Statement
from projectors.consent.subject_state import SubjectState
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import RETAINED
from projectors.engine.sharing import Project, holding_of
from projectors.engine.subject_record import corrected, corrections
from projectors.log import LoggedEvent
from projectors.readmodels.changes import Pending, RowKey
from projectors.readmodels.erasing import count_rows, settle_erased

#: A retained delivery: the event document, its fields, bases and log offset.
Retained = tuple[dict[str, Any], list[str], list[str], int]


def kept_rows(
    scope: BatchScope, rows: dict[RowKey, Pending], subject: str, agency_id: str
) -> dict[str, int]:
    """Rows about the subject the rebuild leaves in the agency's schema; its changes are
    merged into the batch's (counted in memory, else written first and counted)."""
    consent_based = scope.consent_based()
    # Both sides views: Python then walks the smaller one.  Given the dict itself, it
    # walked every change of the batch, once per agency an erasure rebuilds.
    clash = not rows.keys().isdisjoint(scope.changes.keys())
    kept = None if clash else settle_erased(rows, consent_based, subject)
    if kept is not None:
        scope.changes.update(rows)
        return kept
    scope.flush()  # what came before, then the rebuilt rows
    scope.changes.update(rows)
    scope.flush()
    return count_rows(scope.conn_for(agency_id), consent_based, subject)


_RETAINED = (
    "SELECT agency_id, event, fields, bases, log_offset"
    " FROM haven_core.retained_deliveries WHERE subject_id = %(s)s"
    " AND agency_id = ANY(%(a)s) ORDER BY log_offset, seq"
)


def retained_read(scope: BatchScope, subject: str, agencies: list[str]) -> Statement | None:
    """The read of the subject's rule-3 deliveries the agencies keep, in log order (None
    for no agency); the batch's collected ones about the subject are written first.

    The erasure sends it in the round trip of its deletes (``erase_subjects``)."""
    if not agencies:
        return None
    if any(row[0] == subject for row in scope.books.rows.get(RETAINED, ())):
        scope.books.flush(scope.conn, (RETAINED,))
    return (_RETAINED, {"s": subject, "a": agencies})


def retained_from(rows: Iterable[Sequence[Any]]) -> dict[str, list[Retained]]:
    """:func:`retained_read`'s rows by agency."""
    found: dict[str, list[Retained]] = {}
    for agency_id, event, fields, bases, offset in rows:
        found.setdefault(agency_id, []).append((event, fields, bases, offset))
    return found


def rebuild_lawful(
    scope: BatchScope,
    project: Project,
    withdrawal: tuple[LoggedEvent, SubjectState],
    agency_id: str,
    rows: list[Retained],
) -> tuple[bool, tuple[str, ...]]:
    """Re-project the deliveries a lawful basis keeps; whether any, and their bases."""
    logged, state = withdrawal
    subject = str(logged.subject)
    profile = scope.profile(agency_id)
    bases: set[str] = set()
    fixes = corrections(scope, subject) if rows else {}
    for document, fields, row_bases, offset in rows:
        event = parse_log_dict(document)
        retained = corrected(LoggedEvent(offset, event, dict(document["data"])), fixes)
        if retained is None:
            continue
        grant = (frozenset(fields), frozenset(row_bases))
        if profile is not None:
            project(retained, profile, *grant)
        held = holding_of(scope, retained, agency_id, grant, logged.event.time)
        scope.holdings.add(held)
        if event.type == VictimIdentified.event_type:
            state.hold(agency_id, lawful_only=True)
        bases.update(row_bases)
    return bool(rows), tuple(sorted(bases))
