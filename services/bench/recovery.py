"""``haven bench``'s recovery phase: SIGKILL the worker mid-drain, start another, count.

The recovery records (fresh ids) are preloaded into the inboxes; a worker
starts on them and is SIGKILLed once a third are judged; a new worker starts
at once (what ``haven up``'s supervisor does).  ``recovery_s`` runs from the
kill until every record is judged by the engine (the lag back at zero);
``lost_events`` counts the records never judged (must be 0).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine, text

from services.bench.sealer_bench import preload
from services.bench.stats import wait_for_count
from services.bench.worker_proc import running_worker
from services.bench.workload import Record

_JUDGED = text(
    "SELECT count(DISTINCT event_id) FROM haven_core.audit_ledger"
    " WHERE event_id = ANY(:ids) AND outcome <> 'duplicate'"
)


def _judged(engine: Engine, ids: list[str]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(_JUDGED, {"ids": ids}).scalar_one())


def measure_recovery(
    engine: Engine,
    bootstrap: str,
    prefix: str,
    records: list[Record],
    env: dict[str, str],
    log: Path,
    progress: Progress,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """``recovery_s`` and ``lost_events`` of one worker SIGKILL."""
    ids = [str(json.loads(record.value)["id"]) for record in records]
    asyncio.run(preload(bootstrap, prefix, records))
    with running_worker(env, log) as first:
        wait_for_count(lambda: _judged(engine, ids), len(ids) // 3, progress, "before the kill")
        first.process.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        first.process.wait(10)
    with running_worker(env, log):
        deadline = time.monotonic() + timeout_s
        while (judged := _judged(engine, ids)) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        recovered = time.perf_counter()
    return {
        "recovery_s": round(recovered - killed, 2) if judged == len(ids) else None,
        "recovery_events": len(ids),
        "lost_events": len(ids) - judged,
    }
