"""``haven bench`` without ``--scale-only``: the phases on the bench's own workload.

On a first fresh infrastructure the sealer alone, then the engine alone over
the log it sealed; on a second the pipeline as deployed
(:mod:`services.bench.suite`); on a third the API reads
(:mod:`services.bench.api`).  The workload is built here, in memory, so a
``--scale-only`` run of big points does not build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from services.bench.api.bench import api_read_figures
from services.bench.engine_bench import run_engine_bench
from services.bench.scale import FreshInfra
from services.bench.sealer_bench import run_sealer_bench
from services.bench.suite import SuiteInput, run_suite
from services.bench.workload import Agency, workload
from services.scenarios.ctdc import CtdcCase

#: Events posted through the API before its reads are timed (at most).
API_EVENTS = 2_000


@dataclass
class BenchRun:
    """The options of these phases."""

    events: int
    subjects: int
    directory: list[Agency]
    batch_max: int
    withdrawals: int
    visible_rate: float
    visible_count: int = 0
    recovery_events: int = 0
    idle_seconds: float = 5.0
    api: tuple[int, int, int, float] = (0, 0, 0, 0.0)  # clients, reads, processes, paced rate


def run_phases(
    fresh: FreshInfra,
    key: bytes,
    data_dir: Path,
    cases: list[CtdcCase],
    run: BenchRun,
    progress: Progress,
) -> dict[str, Any]:
    """Ingest, the sealer and the engine alone, the pipeline suite and the API reads."""
    subjects, directory, batch_max = run.subjects, run.directory, run.batch_max
    records = workload(cases, run.events, subjects, agencies=directory)
    count = run.visible_count
    visible = workload(cases, count, min(subjects, count), 2, agencies=directory)
    figures: dict[str, Any] = {}
    with fresh("bench") as (endpoints, engine):
        figures |= run_sealer_bench(
            endpoints, engine, key, "haven", records, progress, batch_max, directory
        )
        figures |= run_engine_bench(
            endpoints, engine, key, "haven", len(records), progress, batch_max
        )
    recovery_count = run.recovery_events
    recovery = workload(cases, recovery_count, min(subjects, recovery_count), 3, agencies=directory)
    given = SuiteInput(
        records,
        visible,
        directory,
        run.visible_rate,
        run.withdrawals,
        data_dir,
        recovery,
        idle_seconds=run.idle_seconds,
    )
    with fresh("bench-pipeline") as (endpoints, engine):
        figures |= run_suite(endpoints, engine, given, progress)
    with fresh("bench-api") as (endpoints, _):
        api_events = min(run.events, API_EVENTS)
        figures |= api_read_figures(endpoints, api_events, run.api, progress)
    return figures
