"""``haven bench``: measure the pipeline on its own fresh embedded infrastructure.

Three fresh infrastructures.  On the first, ingest into the inboxes, the
sealer alone (in-process), then the engine alone over the log it sealed.  On
the second, the real pipeline as deployed (a ``haven worker`` subprocess)
from preloaded inboxes to every read model, withdrawal-to-erasure latency,
publish-to-visible latency at a fixed offered rate, the worker's peak RSS,
then the floor (a plain consumer of the same log COPYing the same rows) and
the replay of the archive (services/bench/suite.py).  Drain times include
the worker's start-up and consumer group joins.  The third times
``GET /v1/subjects/{id}`` over real HTTP with concurrent clients
(services/bench/api/).  ``--scale`` and ``--scale-agencies`` add a series of
end-to-end runs, one fresh infrastructure per point (services/bench/scale.py);
with ``--scale-only`` that series runs alone (the rest is
services/bench/phases.py), so a big point need not run the whole bench.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from infra.collector import tune_collector
from infra.secrets import load_master_key
from infra.settings import CliSettings, default_api_processes
from services.bench.phases import BenchRun, run_phases
from services.bench.scale import run_scale, scale_points
from services.bench.stats import machine
from services.bench.workload import bench_agencies
from services.cli.context import fresh_embedded_infra
from services.scenarios.synthetic import cases_or_synthetic

NOTES = {
    "fanout": "recipient agencies per applied agency event of the preloaded workload,"
    " producer included (audit ledger recipients)",
    "ingest_events_per_s": "preloading the inboxes (aiokafka producer, acks=all)",
    "sealer_events_per_s": "the sealer alone (in-process) over the preloaded inboxes, from its"
    " start until every record was sealed, committed and relayed to the log",
    "engine_events_per_s": "the engine alone (in-process) over the log the sealer run left,"
    " from its start until every agency event was judged",
    "scale": "end to end and the worker's peak RSS (supervisor, sealer and engine processes)"
    " on fresh infrastructure per point: --scale event counts at --agencies agencies,"
    " --scale-agencies agency counts at --events events; --scale-only runs nothing else",
    "peak_rss_by_process_mb": "each kind of the worker's processes at its own peak (the"
    " supervisor; a role's processes summed), so the kinds' sum exceeds peak_rss_mb",
    "peak_pss_mb": "the worker's peak proportional set size (each page shared by N of its"
    " processes counted 1/N in each): its real footprint, as the role children are forked"
    " from the supervisor and share the pages of the code it imported, which peak_rss_mb"
    " (resident set sizes summed) counts once per process; read near the RSS peak at most"
    " every 2 s (the kernel walks each process's page tables for it)",
    "end_to_end_events_per_s": "preloaded inboxes to every read model, from the worker's"
    " launch (start-up and group joins included); steady: from the first judged event",
    "visible_ms": "paced publish to the event's engine transaction visible (ledger entry,"
    " written with the read-model rows), polled every 5 ms",
    "visible_stages_ms": "each paced event's publish-to-visible time by stage (p50, p99):"
    " inbox_to_sealer, send to the start of the sealer transaction that sealed it (Postgres"
    " now()); sealer_to_log, to its log record's timestamp (the relay's send);"
    " log_to_visible, to its ledger entry seen; events: how many were timed at every point",
    "visible_cpu_cores": "CPU cores used over the paced phase, by kind of process (the"
    " worker's sealer, engines and supervisor, postgres, the broker, the bench's own producer"
    " and poller, other): two cores are 2.0 in total",
    "drain_cpu_us_per_event": "CPU microseconds per preloaded event by kind of process (as"
    " visible_cpu_cores) from the worker ready to the drain's end (a scale point's"
    " cpu_us_per_event likewise): where the work of an event goes; a Postgres backend that"
    " ended meanwhile counts nothing",
    "idle_cpu_cores": "CPU cores used by kind of process (as visible_cpu_cores) over"
    " --idle-seconds with nothing published, after the erasures: what a quiet pipeline"
    " costs (its consumers' empty fetches, the broker answering them, the scheduler)",
    "new_agency_visible_ms": "an agency registered while the worker runs: from the end of its"
    " registration to its first event applied by the engine (sent at once)",
    "erasure_ms": "withdrawal published to its erasure receipt (rows erased in the same"
    " transaction), one at a time on the idle pipeline",
    "floor_events_per_s": "aiokafka consumer of the same log, JSON, COPY of one row per"
    " recipient into one plain table, commit per fetch; no policy or sealing",
    "replay_events_per_s": "archive replayed through the engine core into a scratch database",
    "recovery_s": "fresh records preloaded; the worker SIGKILLed once a third were judged and"
    " a new one started at once: seconds from the kill until every record was judged (lag"
    " back at zero); lost_events: records never judged",
    "api_read_ms": "GET /v1/subjects/{id} over HTTP by api_read_clients concurrent clients"
    " against api_processes API processes on one port (token, read under the agency role,"
    " access-log row), after up to 2,000 events were posted through the API and projected;"
    " clients (keep-alive HTTP/1.1, each answer checked: a 200 naming the subject) share"
    " the machine",
}


def _counts(listed: str, option: str) -> list[int]:
    try:
        counts = [int(part) for part in listed.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            "a comma-separated list of whole numbers", param_hint=option
        ) from None
    if any(count < 4 for count in counts):
        raise typer.BadParameter("every point must be at least 4", param_hint=option)
    return counts


def _figures(events: int, subjects: int, agencies: int, batch_max: int) -> dict[str, Any]:
    return {"events": events, "subjects": subjects, "agencies": agencies, "batch_max": batch_max}


def bench(
    events: Annotated[
        int, typer.Option("--events", min=1, help="events in the preloaded workload")
    ] = 20_000,
    subjects: Annotated[
        int, typer.Option("--subjects", min=1, help="distinct subjects they are about")
    ] = 2_000,
    agencies: Annotated[
        int, typer.Option("--agencies", min=4, max=200, help="agencies producing them")
    ] = 6,
    batch_max: Annotated[
        int, typer.Option("--batch-max", min=1, help="sealer and engine batch size")
    ] = 2_000,
    withdrawals: Annotated[
        int, typer.Option("--withdrawals", min=1, help="erasing withdrawals timed")
    ] = 50,
    visible_seconds: Annotated[
        float, typer.Option("--visible-seconds", min=0.5, help="seconds of the latency run")
    ] = 10.0,
    visible_rate: Annotated[
        float, typer.Option("--visible-rate", min=1, help="events per second in the latency run")
    ] = 1_000.0,
    idle_seconds: Annotated[
        float,
        typer.Option("--idle-seconds", min=0.5, help="seconds of the idle CPU measurement"),
    ] = 5.0,
    recovery_events: Annotated[
        int, typer.Option("--recovery-events", min=3, help="events of the recovery run")
    ] = 5_000,
    api_clients: Annotated[
        int, typer.Option("--api-clients", min=1, help="concurrent readers of the API bench")
    ] = 50,
    api_reads: Annotated[
        int, typer.Option("--api-reads", min=1, help="subject reads timed over HTTP")
    ] = 5_000,
    api_workers: Annotated[
        int | None,
        typer.Option(
            "--api-workers",
            min=1,
            max=64,
            help="API processes of the API bench (default: as many as haven up runs)",
        ),
    ] = None,
    api_rate: Annotated[
        float,
        typer.Option("--api-rate", min=1, help="reads/s offered in the API bench's paced phase"),
    ] = 1_000.0,
    scale: Annotated[
        str, typer.Option("--scale", help="event counts of the scale series, e.g. 10000,100000")
    ] = "",
    scale_agencies: Annotated[
        str, typer.Option("--scale-agencies", help="agency counts of the scale series, e.g. 6,60")
    ] = "",
    scale_only: Annotated[
        bool, typer.Option("--scale-only", help="run the scale series alone, not the rest")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Preload CTDC-derived events; time ingest, the sealer, the pipeline, latencies, floor."""
    settings = CliSettings()
    tune_collector()  # the in-process sealer, engine and replay run as the worker's do
    err = Console(stderr=True)
    points = scale_points(
        _counts(scale, "--scale"),
        _counts(scale_agencies, "--scale-agencies"),
        events,
        agencies,
        subjects,
    )
    subjects = min(subjects, events)
    directory = bench_agencies(agencies)
    cases, _ = cases_or_synthetic(events)
    figures = _figures(events, subjects, len(directory), batch_max)
    fresh = partial(fresh_embedded_infra, settings)
    with Progress(console=err) as progress:
        if not scale_only:
            run = BenchRun(events, subjects, directory, batch_max, withdrawals, visible_rate)
            run.visible_count = round(visible_rate * visible_seconds)
            run.recovery_events = recovery_events
            run.idle_seconds = idle_seconds
            api_processes = api_workers or default_api_processes()
            run.api = (api_clients, api_reads, api_processes, api_rate)
            key = load_master_key(settings)
            figures |= run_phases(fresh, key, settings.data_dir, cases, run, progress)
        figures["scale"] = run_scale(fresh, settings.data_dir, cases, points, progress)
    floor = figures.get("floor_events_per_s")
    if floor:
        figures["end_to_end_share_of_floor"] = round(figures["end_to_end_events_per_s"] / floor, 4)
    figures |= {"machine": machine(), "notes": NOTES}
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        for name, value in figures.items():
            typer.echo(f"{name:>32}: {value}")
