"""The pipeline part of ``haven bench``, on one fresh infrastructure, in order:

1. register the agencies, preload the workload into the inboxes;
2. start a ``haven worker`` subprocess, time the drain until every event is
   judged by the engine (end to end), read the fan-out from the audit ledger;
3. withdrawals one at a time on the idle pipeline (erasure latency), then
   the cores each kind of process uses with nothing published (idle);
4. a paced phase at a fixed offered rate (publish-to-visible latency), then an
   agency registered on the running pipeline (its first event's latency);
5. stop the worker (its peak RSS), then the floor consumer and the replay;
6. recovery: fresh records preloaded, a worker SIGKILLed mid-drain, another
   started: seconds until the lag is back at zero, and events lost (0).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from services.bench.cpu_split import cores_by_kind, idle_cores, snapshot
from services.bench.floor import run_floor
from services.bench.new_agency import new_agency_latency
from services.bench.pipeline_bench import drain, erasure_latencies
from services.bench.recovery import measure_recovery
from services.bench.replay_bench import run_replay_bench
from services.bench.sealer_bench import preload, register_all
from services.bench.stats import fanout
from services.bench.visible import measure_visible
from services.bench.worker_proc import running_worker, worker_env
from services.bench.workload import Agency, Record

RSS_SCOPE = (
    "peak RSS of the `haven worker` process tree as deployed (the supervisor, the sealer"
    " process and the engine processes, the first of which runs the scheduler too), summed,"
    " sampled every 0.2 s over drain, erasure and visible phases"
)


@dataclass(frozen=True)
class SuiteInput:
    """What the pipeline phases run on."""

    records: list[Record]
    visible_records: list[Record]
    agencies: list[Agency]
    visible_per_s: float
    withdrawals: int
    data_dir: Path
    recovery_records: list[Record]
    prefix: str = "haven"
    #: Seconds of the idle phase (nothing published) after the erasures.
    idle_seconds: float = 5.0


def run_suite(
    endpoints: Endpoints, engine: Engine, given: SuiteInput, progress: Progress
) -> dict[str, Any]:
    """Every pipeline figure of ``haven bench``."""
    bootstrap, prefix = endpoints.bootstrap_servers, given.prefix
    register_all(engine, bootstrap, prefix, given.agencies)
    asyncio.run(preload(bootstrap, prefix, given.records))
    env = worker_env(endpoints, given.data_dir, prefix)
    log = given.data_dir / "bench-pipeline" / "worker.log"
    with running_worker(env, log) as worker:
        worker_ready_s = worker.wait_ready(engine)
        figures = drain(engine, worker, len(given.records), progress)
        figures |= fanout(engine)
        figures |= erasure_latencies(engine, bootstrap, prefix, given.records, given.withdrawals)
        figures["idle_cpu_cores"] = idle_cores(worker.process.pid, given.idle_seconds)
        before = snapshot(worker.process.pid)
        figures |= measure_visible(
            engine, bootstrap, prefix, given.visible_records, given.visible_per_s, progress
        )
        figures["visible_cpu_cores"] = cores_by_kind(before, snapshot(worker.process.pid))
        figures |= new_agency_latency(engine, bootstrap, prefix)
    figures |= {
        "worker_ready_s": round(worker_ready_s, 2),
        "peak_rss_mb": round(worker.rss.peak_mb, 1),
        "peak_pss_mb": round(worker.rss.peak_pss_mb, 1),
        "peak_rss_by_process_mb": worker.rss.peaks(),
        "rss_scope": RSS_SCOPE,
    }
    figures |= run_floor(engine, bootstrap, prefix, progress)
    figures |= run_replay_bench(engine, endpoints.database_url, prefix, progress)
    figures |= measure_recovery(
        engine, bootstrap, prefix, given.recovery_records, env, log, progress
    )
    return figures
