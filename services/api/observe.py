"""Readiness and metrics: what ``/v1/health`` and ``/metrics`` report.

Both read shared state (Postgres, the broker), so they are true for the whole
deployment, not just this API process: counts come from the sealer's and the
engine's own tables, lag from broker end offsets minus stored positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text

from projectors.log import ENGINE_POSITIONS, SEALER_POSITIONS
from projectors.runtime.heartbeat import READY_WORKERS, STALE_AFTER_S
from projectors.sealer.store import count_rejections


def count_rejection(core: Engine, stage: str, reason: str) -> None:
    """Add one refusal to the shared counts (every API process and the sealer agree)."""
    with core.begin() as conn:
        count_rejections(conn, stage, {reason: 1})


PARKED_SUBJECTS = (
    "SELECT count(DISTINCT subject_id) FROM haven_core.parked_events WHERE topic = :log"
)
_COUNTS = {
    "sealed": "SELECT count(*) FROM haven_core.sealed_events",
    "erasures": "SELECT count(DISTINCT withdrawal_event_id) FROM haven_core.erasure_receipts",
    "keys_destroyed": "SELECT count(*) FROM haven_core.keys WHERE destroyed_at IS NOT NULL",
    "workers_ready": str(READY_WORKERS),
    "parked_events": "SELECT count(*) FROM haven_core.parked_events"
    " WHERE topic = :log AND NOT applied_through",
    "parked_subjects": PARKED_SUBJECTS,
}


def parked_subjects(core: Engine, log_topic: str) -> int:
    """Subjects with events parked by the engine (docs/engine.md), blocking."""
    with core.connect() as conn:
        return int(conn.execute(text(PARKED_SUBJECTS), {"log": log_topic}).scalar_one())


def ready_workers(core: Engine) -> int:
    """Workers whose services are ready and whose heartbeat is fresh (blocking)."""
    with core.connect() as conn:
        return int(conn.execute(READY_WORKERS, {"stale": STALE_AFTER_S}).scalar_one())


def pipeline_counts(core: Engine, log_topic: str) -> dict[str, Any]:
    """Counts for /metrics, read from the pipeline's own tables (blocking)."""
    params = {"log": log_topic, "stale": STALE_AFTER_S}
    with core.connect() as conn:
        counts: dict[str, Any] = {
            name: int(conn.execute(text(sql), params).scalar_one()) for name, sql in _COUNTS.items()
        }
        rejected = conn.execute(
            text("SELECT source, reason, count FROM haven_core.rejection_counts")
        )
        counts["rejected"] = [(row[0], row[1], int(row[2])) for row in rejected]
        engine = ENGINE_POSITIONS.read(conn)
        counts["projected"] = sum(n for (topic, _), n in engine.items() if topic == log_topic)
        counts["positions"] = {"sealer": SEALER_POSITIONS.read(conn), "engine": engine}
    return counts


def lag(
    positions: dict[tuple[str, int], int], ends: dict[tuple[str, int], int]
) -> Iterable[tuple[str, int, int]]:
    """Per partition: end offset minus stored position, never below zero."""
    for (topic, partition), end in sorted(ends.items()):
        yield topic, partition, max(end - positions.get((topic, partition), 0), 0)
