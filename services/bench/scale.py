"""``haven bench --scale``: the pipeline as deployed at growing log sizes and agency counts.

Each point runs on its own fresh infrastructure: register the agencies,
preload the inboxes (in chunks, so a million events never sit in memory),
start ``haven worker`` (a supervisor with its sealer and engine processes)
and time the drain from its launch until every event is judged; the worker's
peak RSS (the whole process tree, and each kind of process) is sampled
throughout; the count of judged events is polled less often once counting
itself takes long (big points).  Subjects grow with
the log (ten events each, at least the bench's ``--subjects``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from services.bench.pipeline_bench import drain
from services.bench.sealer_bench import preload, register_all
from services.bench.worker_proc import running_worker, worker_env
from services.bench.workload import Record, bench_agencies, iter_workload
from services.scenarios.ctdc import CtdcCase

#: A fresh infrastructure by name (``fresh_embedded_infra`` of the CLI).
FreshInfra = Callable[[str], AbstractContextManager[tuple[Endpoints, Engine]]]
_CHUNK = 20_000
_PREFIX = "haven"


@dataclass(frozen=True)
class ScalePoint:
    """One run of the series."""

    events: int
    agencies: int
    subjects: int


def scale_points(
    events: list[int], agencies: list[int], base_events: int, base_agencies: int, subjects: int
) -> dict[str, list[ScalePoint]]:
    """The event-count series (at ``base_agencies``) and the agency series (at ``base_events``)."""

    def point(count: int, directory: int) -> ScalePoint:
        return ScalePoint(count, directory, min(count, max(subjects, count // 10)))

    return {
        "events": [point(n, base_agencies) for n in events],
        "agencies": [point(base_events, a) for a in agencies],
    }


def _chunks(records: Iterator[Record]) -> Iterator[list[Record]]:
    while chunk := list(itertools.islice(records, _CHUNK)):
        yield chunk


def run_point(
    fresh: FreshInfra,
    data_dir: Path,
    cases: list[CtdcCase],
    point: ScalePoint,
    progress: Progress,
) -> dict[str, Any]:
    """End-to-end rate and worker RSS of one point."""
    with fresh("bench-scale") as (endpoints, engine):
        bootstrap = endpoints.bootstrap_servers
        directory = bench_agencies(point.agencies)
        register_all(engine, bootstrap, _PREFIX, directory)
        records = iter_workload(cases, point.events, point.subjects, agencies=directory)
        task = progress.add_task(f"preloading {point.events} events", total=point.events)
        for chunk in _chunks(records):
            asyncio.run(preload(bootstrap, _PREFIX, chunk))
            progress.advance(task, len(chunk))
        env = worker_env(endpoints, data_dir, _PREFIX)
        with running_worker(env, data_dir / "bench-scale" / "worker.log") as worker:
            ready_s = worker.wait_ready(engine, timeout_s=600)
            figures = drain(engine, worker, point.events, progress, spaced=True)
    return {
        "events": point.events,
        "agencies": point.agencies,
        "subjects": point.subjects,
        "end_to_end_events_per_s": figures["end_to_end_events_per_s"],
        "end_to_end_steady_events_per_s": figures["end_to_end_steady_events_per_s"],
        "drain_s": figures["pipeline_drain_s"],
        "worker_ready_s": round(ready_s, 2),
        "peak_rss_mb": round(worker.rss.peak_mb, 1),
        "peak_pss_mb": round(worker.rss.peak_pss_mb, 1),
        "peak_rss_by_process_mb": worker.rss.peaks(),
        "cpu_us_per_event": figures["drain_cpu_us_per_event"],
    }


def run_scale(
    fresh: FreshInfra,
    data_dir: Path,
    cases: list[CtdcCase],
    points: dict[str, list[ScalePoint]],
    progress: Progress,
) -> dict[str, list[dict[str, Any]]]:
    """Every point of both series, in order."""
    return {
        series: [run_point(fresh, data_dir, cases, point, progress) for point in listed]
        for series, listed in points.items()
    }
