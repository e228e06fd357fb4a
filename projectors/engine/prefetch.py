"""What a batch reads once for the subjects of its grants and rectifications.

A grant (and a rectification) reads its subject's record, holdings and
corrections (``projectors.engine.subject_record``, ``holdings``); read
subject by subject, that is several statements per grant.  When the batch
starts, :func:`prefetch` reads them for every such subject of the batch at
once (docs/engine.md, "Batches, positions, fencing").
"""

from __future__ import annotations

from sqlalchemy import text

from projectors.engine.batch import BatchScope
from projectors.engine.subject_record import corrections_of, events_at

#: The applied ledger entries of the subjects ``:s`` in partition ``:t``/``:p``, read
#: through the subject index.  ``topic || ''`` and ``partition + 0`` are not the primary
#: key's columns to the planner: the ledger fills by thousands of entries a second from
#: empty, and before autovacuum first analyses it the planner has no statistics; with
#: ``subject_id = ANY(...)`` and plain ``topic =`` and ``partition =`` its generic plan
#: took the primary key and walked the whole log partition for every grant batch
#: (0.6 ms against 0.03 ms at 20,000 entries, growing with the log).
LEDGER_OF_SUBJECTS = text(
    "SELECT subject_id, log_offset, event_type FROM haven_core.audit_ledger"
    " WHERE subject_id = ANY(:s) AND topic || '' = :t AND partition + 0 = :p"
    " AND outcome = 'applied'"
)


def prefetch(scope: BatchScope, granted: set[str], rectified: set[str]) -> None:
    """Read at once, for the subjects of the batch's grants and rectifications, what
    ``record_events``, ``corrections`` and ``HoldingsBuffer.held`` would
    read per subject: their applied ledger entries with the archived events,
    their holdings (kept up to date in memory), whether a key destruction
    waits for them and (subjects no rectification of this batch changes)
    their corrections.

    The ledger and the archive are written when the batch commits, so what is
    read here stays true for the whole batch.
    """
    subjects = sorted(granted | rectified)
    if not subjects:
        return
    params = {"s": subjects, "t": scope.context.topic, "p": scope.context.partition}
    scope.ledger.update({subject: [] for subject in subjects})
    rows = scope.conn.execute(LEDGER_OF_SUBJECTS, params)
    for subject, offset, event_type in rows:
        scope.ledger[subject].append((offset, event_type))
    shareable = scope.recipients().policy.family_of
    events_at(scope, [o for s in subjects for o, t in scope.ledger[s] if shareable(t) is not None])
    scope.holdings.load(scope.conn, subjects, scope.context.topic, scope.context.partition)
    scheduled = scope.conn.execute(
        text(
            "SELECT subject_id FROM haven_core.scheduled_erasures WHERE subject_id = ANY(:s)"
            " AND cancelled_at IS NULL AND executed_at IS NULL"
        ),
        {"s": sorted(granted)},
    )
    scope.unscheduled.update(granted - {row[0] for row in scheduled})
    unchanged = sorted(granted - rectified)
    scope.fixes.update({subject: {} for subject in unchanged})
    for subject, fix in corrections_of(scope, unchanged):
        scope.fixes[subject].setdefault(fix[0], []).append(fix[1])
