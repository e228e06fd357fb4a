"""Replay speed: the archived log through the real engine core into a scratch database.

The same path as ``haven audit replay --from-archive`` (services/audit/replay.py):
the archive is read first (not timed), then replayed and timed, then every
read-model table is compared with the live one.
"""

from __future__ import annotations

from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine

from events.topics import log_topic
from projectors.audit.archive import archived_records
from services.audit.replay import live_positions, run_replay, scratch_database
from services.bench.stats import rate


def run_replay_bench(
    engine: Engine, database_url: str, prefix: str, progress: Progress
) -> dict[str, Any]:
    """Replay the live database's archive into a scratch database; the figures."""
    topic = log_topic(prefix)
    records = {
        partition: [record for _, record in archived_records(engine, topic, partition)]
        for partition in live_positions(engine, topic)
    }
    task = progress.add_task("replaying the archive", total=sum(map(len, records.values())))
    with scratch_database(database_url) as (_name, scratch):
        report = run_replay(
            engine,
            scratch,
            topic,
            records,
            source="archive",
            on_batch=lambda n: progress.advance(task, n),
        )
    return {
        "replay_events_per_s": rate(report.events, report.replay_s),
        "replay_events": report.events,
        "replay_s": report.replay_s,
        "replay_same": report.ok,
    }
