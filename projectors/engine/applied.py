"""The engine's own per-batch reads and writes: applied event ids and subject states.

One statement each per batch: which events of a batch were applied before
(:func:`drop_applied`), the subjects' stored states and parking
(:func:`load_subjects`), and, when the batch ends, the ids it applied and
the states it changed (:func:`save`).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from infra.bulk import Columns, bulk_insert
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


def drop_applied(
    conn: Connection, topic: str, partition: int, logged: list[LoggedEvent]
) -> list[LoggedEvent]:
    """``logged`` without the events applied before (or earlier in the list).

    One index probe per event (``LATERAL ... LIMIT 1``): a semi-join would scan
    the partition's every applied event whenever the table's statistics are
    stale, as they are while a replay fills a fresh database.
    """
    refs = [(e.event.source, e.event.id) for e in logged]
    rows = conn.execute(
        text(
            "SELECT r.source, r.event_id"
            " FROM unnest(CAST(:s AS text[]), CAST(:i AS text[])) AS r(source, event_id)"
            " CROSS JOIN LATERAL (SELECT 1 FROM haven_core.applied_events AS a"
            " WHERE a.topic = :t AND a.partition = :p AND a.source = r.source"
            " AND a.event_id = r.event_id LIMIT 1) AS hit"
        ),
        {"t": topic, "p": partition, "s": [s for s, _ in refs], "i": [i for _, i in refs]},
    )
    seen = {(row[0], row[1]) for row in rows}
    fresh = []
    for event, ref in zip(logged, refs, strict=True):
        if ref not in seen:
            seen.add(ref)
            fresh.append(event)
    return fresh


_SUBJECTS = text(
    "SELECT subject_id, state, false FROM haven_core.subject_states WHERE subject_id = ANY(:s)"
    " UNION ALL (SELECT DISTINCT subject_id, NULL::jsonb, true FROM haven_core.parked_events"
    " WHERE topic = :t AND partition = :p AND subject_id = ANY(:s))"
)


def load_subjects(
    conn: Connection, topic: str, partition: int, subjects: set[str]
) -> tuple[dict[str, SubjectState], set[str]]:
    """The stored states of ``subjects``, and which of them have events parked in
    ``topic[partition]`` (``engine.parking``), in one round trip."""
    if not subjects:
        return {}, set()
    states: dict[str, SubjectState] = {}
    parked: set[str] = set()
    params = {"s": sorted(subjects), "t": topic, "p": partition}
    for subject, state, is_parked in conn.execute(_SUBJECTS, params):
        if is_parked:
            parked.add(subject)
        else:
            states[subject] = SubjectState.from_json(state)
    return states, parked


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
