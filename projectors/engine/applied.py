"""The engine's own per-batch reads and writes: applied event ids and subject states.

One statement each per batch: which events of a batch were applied before
(:func:`applied_statement`), the subjects' stored states and parking
(:func:`subjects_statement`), both read with the batch's other opening reads
(``projectors.engine.opening``), and, when the batch ends, the ids it
applied and the states it changed (:func:`save`).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from sqlalchemy import Connection

from infra.bulk import Columns, bulk_insert
from infra.db import Statement, read_together
from projectors.consent.subject_state import SubjectState
from projectors.log import LoggedEvent

APPLIED: Columns = (
    ("topic", "text"),
    ("partition", "int"),
    ("source", "text"),
    ("event_id", "text"),
)
STATES: Columns = (("subject_id", "text"), ("state", "jsonb"))
STATES_UPSERT = "ON CONFLICT (subject_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"


_APPLIED = (
    "SELECT r.source, r.event_id"
    " FROM unnest(%(s)b::text[], %(i)b::text[]) AS r(source, event_id)"
    " CROSS JOIN LATERAL (SELECT 1 FROM haven_core.applied_events AS a"
    " WHERE a.topic = %(t)s AND a.partition = %(p)s AND a.source = r.source"
    " AND a.event_id = r.event_id LIMIT 1) AS hit"
)


def applied_statement(topic: str, partition: int, logged: list[LoggedEvent]) -> Statement:
    """Which of ``logged`` were applied before: one index probe per event
    (``LATERAL ... LIMIT 1``); a semi-join would scan the partition's every
    applied event whenever the table's statistics are stale, as they are
    while a replay fills a fresh database."""
    sources = [e.event.source for e in logged]
    ids = [e.event.id for e in logged]
    return _APPLIED, {"t": topic, "p": partition, "s": sources, "i": ids}


def without_applied(logged: list[LoggedEvent], rows: list[tuple[Any, ...]]) -> list[LoggedEvent]:
    """``logged`` without the events :func:`applied_statement` found (or earlier in the list)."""
    seen = {(row[0], row[1]) for row in rows}
    fresh = []
    for event in logged:
        ref = (event.event.source, event.event.id)
        if ref not in seen:
            seen.add(ref)
            fresh.append(event)
    return fresh


def drop_applied(
    conn: Connection, topic: str, partition: int, logged: list[LoggedEvent]
) -> list[LoggedEvent]:
    """``logged`` without the events applied before (or earlier in the list)."""
    (rows,) = read_together(conn, [applied_statement(topic, partition, logged)])
    return without_applied(logged, rows)


_SUBJECTS = (
    "SELECT subject_id, state, false FROM haven_core.subject_states"
    " WHERE subject_id = ANY(%(s)b)"
    " UNION ALL (SELECT DISTINCT subject_id, NULL::jsonb, true FROM haven_core.parked_events"
    " WHERE topic = %(t)s AND partition = %(p)s AND subject_id = ANY(%(s)b))"
)


def subjects_statement(topic: str, partition: int, subjects: set[str]) -> Statement:
    """The stored states of ``subjects`` and which of them have events parked in
    ``topic[partition]`` (``engine.parking``), in one statement."""
    return _SUBJECTS, {"s": sorted(subjects), "t": topic, "p": partition}


def subjects_from(
    rows: list[tuple[Any, ...]], subjects: Set[str]
) -> tuple[dict[str, SubjectState], set[str]]:
    """The states and parked subjects :func:`subjects_statement` read, of ``subjects``."""
    states: dict[str, SubjectState] = {}
    parked: set[str] = set()
    for subject, state, is_parked in rows:
        if subject not in subjects:
            continue
        if is_parked:
            parked.add(subject)
        else:
            states[subject] = SubjectState.from_json(state)
    return states, parked


def load_subjects(
    conn: Connection, topic: str, partition: int, subjects: set[str]
) -> tuple[dict[str, SubjectState], set[str]]:
    """The stored states of ``subjects``, and which of them have events parked in
    ``topic[partition]``, in one round trip."""
    if not subjects:
        return {}, set()
    (rows,) = read_together(conn, [subjects_statement(topic, partition, subjects)])
    return subjects_from(rows, subjects)


def save(
    conn: Connection,
    topic: str,
    partition: int,
    fresh: list[LoggedEvent],
    states: dict[str, SubjectState],
) -> None:
    """Record ``fresh`` as applied and store the subject states."""
    applied = [(topic, partition, e.event.source, e.event.id) for e in fresh]
    bulk_insert(conn, "haven_core.applied_events", APPLIED, applied, "ON CONFLICT DO NOTHING")
    rows = [(subject, state.to_json()) for subject, state in states.items() if subject]
    bulk_insert(conn, "haven_core.subject_states", STATES, rows, STATES_UPSERT)
