"""``haven bench``: measure the pipeline on its own fresh embedded infrastructure.

It measures ingest into the inboxes, the sealer's drain into the log, the
whole pipeline (sealer + engine, one worker each) from preloaded inboxes to
projected read models, and the latency of a withdrawal from the inbox to its
erasure receipt (the last in-scope row gone).  Times include the consumer
group joins, a few seconds on the embedded broker.
"""

from __future__ import annotations

import json
import os
import platform
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from infra.secrets import load_master_key
from infra.settings import CliSettings
from services.bench.pipeline_bench import run_pipeline_bench
from services.bench.sealer_bench import run_sealer_bench
from services.bench.workload import BENCH_AGENCIES, workload
from services.cli.context import fresh_embedded_infra
from services.scenarios.ctdc import load_cases


def bench(
    events: Annotated[int, typer.Option("--events", min=1)] = 20_000,
    subjects: Annotated[int, typer.Option("--subjects", min=1)] = 2_000,
    batch_max: Annotated[int, typer.Option("--batch-max", min=1)] = 2_000,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Preload CTDC-derived events; time the sealer, then sealer + engine, then withdrawals."""
    settings = CliSettings()
    err = Console(stderr=True)
    records = workload(load_cases(), events, min(subjects, events))
    key = load_master_key(settings)
    with (
        fresh_embedded_infra(settings, "bench") as (endpoints, engine),
        Progress(console=err) as progress,
    ):
        figures = run_sealer_bench(endpoints, engine, key, "haven", records, progress, batch_max)
    with (
        fresh_embedded_infra(settings, "bench-pipeline") as (endpoints, engine),
        Progress(console=err) as progress,
    ):
        figures |= run_pipeline_bench(endpoints, engine, key, "haven", records, progress)
    figures.update(
        subjects=min(subjects, events),
        agencies=len(BENCH_AGENCIES),
        machine=f"{platform.machine()} {os.cpu_count()} cores",
    )
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        for name, value in figures.items():
            typer.echo(f"{name:>28}: {value}")
