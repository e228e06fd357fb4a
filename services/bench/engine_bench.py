"""Engine throughput alone: the sealed log the sealer bench left, projected by a fresh engine.

Runs on the sealer bench's infrastructure once every record is sealed and in
the log: an engine (the worker's engine loop, on its own event loop in a
thread, as the sealer bench runs the sealer) applies the whole log into the
read models, timed from its start until every agency event is judged.
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from projectors.bootstrap import construct_engine_core, construct_engine_service, engine_pool
from projectors.engine.service import EngineConfig
from projectors.keys.keyring import Keyring
from projectors.runtime.loop_thread import LoopThread
from services.bench.stats import LedgerEvents, rate, wait_for_count


def run_engine_bench(
    endpoints: Endpoints,
    engine: Engine,
    master_key: bytes,
    prefix: str,
    total: int,
    progress: Progress,
    batch_max: int,
) -> dict[str, Any]:
    """Project a preloaded sealed log of ``total`` agency events; the engine's figures."""
    pool = engine_pool(endpoints.database_url)  # as the worker's engine has it
    core = construct_engine_core(pool, Keyring(engine, master_key), hold_s=0.0)
    config = EngineConfig(
        endpoints.bootstrap_servers, prefix, f"{prefix}-engine", batch_max=batch_max
    )
    started = time.perf_counter()
    projecting = LoopThread(lambda: construct_engine_service(core, config), "engine").start()
    try:
        drained = wait_for_count(LedgerEvents(engine), total, progress, "projecting")
    finally:
        projecting.stop()
        pool.dispose()
    elapsed = drained.finished - started
    return {
        "engine_events_per_s": rate(total, elapsed),
        "engine_steady_events_per_s": drained.steady_rate(total),
        "engine_drain_s": round(elapsed, 2),
    }
