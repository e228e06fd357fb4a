"""What a batch reads once for the subjects of its grants and rectifications.

A grant (and a rectification) reads its subject's record, holdings and
corrections (``projectors.engine.subject_record``, ``holdings``); read
subject by subject, that is several statements per grant.  Instead the
batch's opening reads them for every such subject of the batch at once
(:func:`prefetch_statements`, sent with the other opening reads of every
partition of the transaction in one round trip, ``engine.opening``), and
:func:`prefetch` hands them to the batch (docs/engine.md, "Batches,
positions, fencing").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from events.types import ConsentGranted, RecordRectified
from infra.db import Statement
from projectors.engine.batch import BatchScope
from projectors.engine.holdings import holdings_from, holdings_statement
from projectors.engine.subject_record import corrections_from, corrections_statement
from projectors.log import LoggedEvent, LogRecord, parse_record

#: The applied ledger entries of the subjects ``s`` in partition ``t``/``p``, read
#: through the subject index, each with its archived record.  ``topic || ''`` and
#: ``partition + 0`` are not the primary key's columns to the planner: the ledger fills
#: by thousands of entries a second from empty, and before autovacuum first analyses it
#: the planner has no statistics; with ``subject_id = ANY(...)`` and plain ``topic =``
#: and ``partition =`` its generic plan took the primary key and walked the whole log
#: partition for every grant batch (0.6 ms against 0.03 ms at 20,000 entries, growing
#: with the log).
LEDGER_OF_SUBJECTS = (
    "SELECT l.subject_id, l.log_offset, l.event_type, a.record_value"
    " FROM haven_core.audit_ledger AS l JOIN haven_core.log_archive AS a"
    " ON a.topic = l.topic AND a.partition = l.partition AND a.log_offset = l.log_offset"
    " WHERE l.subject_id = ANY(%(s)b) AND l.topic || '' = %(t)s AND l.partition + 0 = %(p)s"
    " AND l.outcome = 'applied'"
)
_GRANTED, _RECTIFIED = ConsentGranted.event_type, RecordRectified.event_type
SCHEDULED = (
    "SELECT subject_id FROM haven_core.scheduled_erasures WHERE subject_id = ANY(%(s)b)"
    " AND cancelled_at IS NULL AND executed_at IS NULL"
)


@dataclass(frozen=True)
class Wanted:
    """The subjects of a batch's grants and of its rectifications."""

    granted: frozenset[str]
    rectified: frozenset[str]

    @classmethod
    def of(cls, logged: Sequence[LoggedEvent]) -> Wanted:
        """The subjects of ``logged``'s grants and rectifications."""
        return cls(
            frozenset(e.subject for e in logged if e.subject and e.event.type == _GRANTED),
            frozenset(e.subject for e in logged if e.subject and e.event.type == _RECTIFIED),
        )

    @property
    def subjects(self) -> list[str]:
        """Both, sorted."""
        return sorted(self.granted | self.rectified)

    @property
    def unchanged(self) -> list[str]:
        """Subjects granted that no rectification of the batch changes."""
        return sorted(self.granted - self.rectified)


def prefetch_statements(topic: str, partition: int, wanted: Wanted) -> list[Statement]:
    """What :func:`prefetch` needs, read in the batch's transaction under its lock: the
    subjects' applied ledger entries with their archived records, their holdings,
    which of the granted ones a key destruction waits for, and the corrections of
    those no rectification of the batch changes.  None when there are no such
    subjects."""
    if not wanted.subjects:
        return []
    where = {"s": wanted.subjects, "t": topic, "p": partition}
    return [
        (LEDGER_OF_SUBJECTS, where),
        holdings_statement(wanted.subjects, topic, partition),
        (SCHEDULED, {"s": sorted(wanted.granted)}),
        corrections_statement(wanted.unchanged, topic, partition),
    ]


def prefetch(scope: BatchScope, wanted: Wanted, answers: Sequence[list[tuple[Any, ...]]]) -> None:
    """Hand the batch what :func:`prefetch_statements` read: ``record_events``,
    ``corrections`` and ``HoldingsBuffer.held`` then answer for those subjects from
    memory.

    The ledger and the archive are written when the batch commits, so what is
    read here stays true for the whole batch.
    """
    if not answers:
        return
    ledger, holdings, scheduled, fixes = answers
    subjects, context = wanted.subjects, scope.context
    scope.ledger.update({subject: [] for subject in subjects})
    shareable = scope.recipients().policy.family_of
    for subject, offset, event_type, value in ledger:
        scope.ledger[subject].append((offset, event_type))
        if shareable(event_type) is not None and offset not in scope.archived:
            scope.archived[offset] = parse_record(LogRecord(offset, bytes(value)))
    scope.holdings.load(subjects, context.topic, context.partition, holdings_from(holdings))
    scope.unscheduled.update(wanted.granted - {row[0] for row in scheduled})
    scope.fixes.update({subject: {} for subject in wanted.unchanged})
    for subject, fix in corrections_from(fixes):
        scope.fixes[subject].setdefault(fix[0], []).append(fix[1])
