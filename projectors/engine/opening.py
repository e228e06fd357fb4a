"""What a batch reads when it starts, for every partition of a transaction in one round trip.

Each batch starts with the same reads: its partition's advisory lock and
stored position (the fence), the partition's context (agencies and policy
digest), which of its events were applied before, the stored states and
parking of its subjects, and the head of the partition's audit chain.  One
statement at a time, that was six round trips per partition, each a wait
on a busy Postgres under load (most of an engine transaction's time in the
paced bench).  :func:`open_batches` sends them for every partition of the
transaction in one pipeline (``infra.db.read_together``); they run in order,
so partitions are still locked in the order given (ascending), each before
its own reads.  A moved position raises :class:`~projectors.log.PositionMoved`
as the fence always did.  The same round trip reads what the batch's grants
and rectifications need of their subjects (``engine.prefetch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection

from infra.db import Statement, read_together
from projectors.audit.ledger import head_statement
from projectors.consent.subject_state import SubjectState
from projectors.engine.applied import (
    applied_statement,
    subjects_from,
    subjects_statement,
    without_applied,
)
from projectors.engine.context import PartitionContext
from projectors.engine.prefetch import Wanted, prefetch_statements
from projectors.log import ENGINE_POSITIONS, LoggedEvent

#: ``(partition, expected position, parsed records)``: one batch to open.
Opened = tuple[int, int | None, list[LoggedEvent]]


@dataclass
class Opening:
    """What one batch read when it started."""

    context: PartitionContext
    #: The batch's events not applied before, in log order.
    fresh: list[LoggedEvent]
    #: Stored states of the subjects of ``fresh``, and those with parked events.
    states: dict[str, SubjectState]
    held: set[str]
    #: The partition's chain head (``ledger.chain_batch``).
    head: list[tuple[Any, ...]]
    #: The subjects of the batch's grants and rectifications, and what
    #: ``prefetch_statements`` read for them.
    wanted: Wanted
    prefetched: list[list[tuple[Any, ...]]]


def _statements(
    topic: str, partition: int, logged: list[LoggedEvent], wanted: Wanted
) -> list[Statement]:
    subjects = {e.subject for e in logged if e.subject}
    return [
        *ENGINE_POSITIONS.fence(topic, partition),
        PartitionContext.statement(topic, partition),
        applied_statement(topic, partition, logged),
        subjects_statement(topic, partition, subjects),
        head_statement(topic, partition),
        *prefetch_statements(topic, partition, wanted),
    ]


def open_batches(conn: Connection, topic: str, batches: Sequence[Opened]) -> dict[int, Opening]:
    """Lock, fence and read every batch's start, in one round trip; by partition."""
    wanted = [Wanted.of(logged) for _, _, logged in batches]
    groups = [
        _statements(topic, partition, logged, w)
        for (partition, _, logged), w in zip(batches, wanted, strict=True)
    ]
    answers = iter(read_together(conn, [s for group in groups for s in group]))
    openings: dict[int, Opening] = {}
    for (partition, expected, logged), group, w in zip(batches, groups, wanted, strict=True):
        lock, position, context, applied, subjects, head, *prefetched = islice(answers, len(group))
        ENGINE_POSITIONS.check([lock, position], topic, partition, expected)
        fresh = without_applied(logged, applied)
        states, held = subjects_from(subjects, {e.subject for e in fresh if e.subject})
        openings[partition] = Opening(
            PartitionContext.from_rows(topic, partition, context),
            fresh,
            states,
            held,
            head,
            w,
            prefetched,
        )
    return openings


__all__ = ["Opened", "Opening", "open_batches"]
