"""Replay speed: the archived log through the real engine core into a scratch database.

The same path as ``haven audit replay --from-archive`` (services/audit/replay.py):
one replay process per core (at most one per partition), each reading its
partitions' archived records and applying them, timed together; then every
read-model table is compared with the live one.
"""

from __future__ import annotations

import os
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine

from events.topics import log_topic
from services.audit.replay import FromArchive, live_positions, run_replay, scratch_database
from services.bench.stats import rate


def run_replay_bench(
    engine: Engine, database_url: str, prefix: str, progress: Progress
) -> dict[str, Any]:
    """Replay the live database's archive into a scratch database; the figures."""
    topic = log_topic(prefix)
    total = sum(live_positions(engine, topic).values())
    task = progress.add_task("replaying the archive", total=total)
    with scratch_database(database_url) as (_name, scratch):
        report = run_replay(
            engine,
            scratch,
            topic,
            FromArchive(os.cpu_count() or 1),
            source="archive",
            on_batch=lambda n: progress.advance(task, n),
        )
    return {
        "replay_events_per_s": rate(report.events, report.replay_s),
        "replay_events": report.events,
        "replay_s": report.replay_s,
        "replay_same": report.ok,
    }
