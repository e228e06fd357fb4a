"""API figures (a measurement, not a test): ingest through the gateway, subject reads.

``python -m services.bench.api.bench --events 20000 --clients 50 --reads 5000``
starts its own embedded broker and Postgres in a temporary data dir, registers
the bench agencies, runs the sealer and the engine in threads and the real API
under uvicorn in a child process (HTTP over TCP on a free local port), then:

1. posts the CTDC-derived workload as batches of ``--batch`` events, each
   agency's batches in order on one of ``--post-clients`` clients: accepted
   events per second (the pipeline seals and projects meanwhile);
2. waits until ``/metrics`` shows no consumer lag;
3. reads ``--reads`` subjects visible to their caller with ``--clients``
   concurrent clients, each sending its next read when the last is answered
   (closed loop: as many reads per second as the machine gives): p50 and
   p99 latency and reads per second;
4. reads ``--reads`` subjects again, offered at ``--paced-rate`` reads per
   second in all over the same clients (open loop, each read due at its
   time; its latency counts from then, so a backlog counts): p50 and p99.

Progress goes to stderr, one JSON object to stdout.  Client, API, workers and
Postgres share the machine, so the figures are approximate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.embedded import embedded_infra
from infra.endpoints import Endpoints
from infra.migrate import migrate
from projectors.bootstrap import pipeline_threads
from projectors.directory.agencies import schema_name
from services.bench.api.load import batches, post_all, read_all, wait_drained
from services.bench.api.workers import api_process
from services.bench.sealer_bench import register_all
from services.bench.stats import machine, percentile_ms
from services.bench.workload import BENCH_AGENCIES, workload
from services.scenarios.synthetic import cases_or_synthetic

#: Reads per second offered, all clients together, in the paced read phase.
PACED_RATE = 1000.0


def _visible(engine: Engine) -> list[tuple[str, str]]:
    """(agency, subject) for every subject row of every bench agency."""
    pairs = []
    with engine.connect() as conn:
        for agency_id, _, _ in BENCH_AGENCIES:
            query = f'SELECT subject_id FROM "{schema_name(agency_id)}".subjects'  # noqa: S608
            pairs += [(agency_id, str(s)) for s in conn.execute(text(query)).scalars()]
    return pairs


def run_api_bench(
    endpoints: Endpoints, args: argparse.Namespace, progress: Progress
) -> dict[str, Any]:
    """Register, start workers and the API, post, drain, read; the figures."""
    engine = sync_engine(endpoints.database_url)
    migrate(engine)
    master_key = secrets.token_bytes(32)
    tokens = register_all(engine, endpoints.bootstrap_servers, args.prefix, list(BENCH_AGENCIES))
    records = workload(
        cases_or_synthetic(args.events)[0], args.events, args.subjects or max(1, args.events // 8)
    )
    threads = pipeline_threads(
        engine, endpoints.bootstrap_servers, args.prefix, master_key, hold_s=72 * 3600.0
    )
    try:
        workers = getattr(args, "api_workers", 1)
        with api_process(endpoints, master_key, args.prefix, workers) as base_url:
            bodies = batches(records, args.batch)
            accepted, post_s = asyncio.run(
                post_all(base_url, bodies, tokens, args.post_clients, progress)
            )
            drain_started = time.perf_counter()
            asyncio.run(wait_drained(base_url, progress))
            drain_s = time.perf_counter() - drain_started
            pairs = _visible(engine)
            asyncio.run(read_all(base_url, pairs, tokens, args.clients, args.warmup, progress))
            closed = asyncio.run(
                read_all(base_url, pairs, tokens, args.clients, args.reads, progress)
            )
            offered = getattr(args, "paced_rate", PACED_RATE)
            paced = asyncio.run(
                read_all(base_url, pairs, tokens, args.clients, args.reads, progress, offered)
            )
    finally:
        for thread in threads:
            thread.stop()
        engine.dispose()
    return {
        "post_events_per_s": round(accepted / post_s),
        "post_batch_size": args.batch,
        "post_clients": args.post_clients,
        "events_accepted": accepted,
        "post_s": round(post_s, 2),
        "drain_after_post_s": round(drain_s, 2),
        "get_subject_p50_ms": percentile_ms(closed.latencies, 0.50),
        "get_subject_p99_ms": percentile_ms(closed.latencies, 0.99),
        "get_clients": args.clients,
        "api_processes": workers,
        "reads": len(closed.latencies),
        "get_subject_reads_per_s": closed.per_s(),
        "get_subject_paced_offered_per_s": offered,
        "get_subject_paced_per_s": paced.per_s(),
        "get_subject_paced_p50_ms": percentile_ms(paced.latencies, 0.50),
        "get_subject_paced_p99_ms": percentile_ms(paced.latencies, 0.99),
        "subjects_visible": len(pairs),
        "machine": f"{machine()}; client, API, workers and Postgres on one machine",
    }


def api_read_figures(
    endpoints: Endpoints,
    events: int,
    readers: tuple[int, int, int, float],
    progress: Progress,
) -> dict[str, Any]:
    """The ``haven bench`` part: subject reads over HTTP on infrastructure of its own;
    ``readers``: concurrent clients, reads, API processes, reads/s offered when paced."""
    clients, reads, workers, paced_rate = readers
    args = argparse.Namespace(
        events=events, subjects=max(1, events // 8), batch=100, post_clients=4,
        clients=clients, reads=reads, warmup=min(200, reads), prefix="bench",
        api_workers=workers, paced_rate=paced_rate,
    )  # fmt: skip
    figures = run_api_bench(endpoints, args, progress)
    return {
        "api_read_p50_ms": figures["get_subject_p50_ms"],
        "api_read_p99_ms": figures["get_subject_p99_ms"],
        "api_reads_per_s": figures["get_subject_reads_per_s"],
        "api_read_clients": clients,
        "api_processes": workers,
        "api_reads": figures["reads"],
        "api_read_offered_per_s": figures["get_subject_paced_offered_per_s"],
        "api_read_paced_per_s": figures["get_subject_paced_per_s"],
        "api_read_paced_p50_ms": figures["get_subject_paced_p50_ms"],
        "api_read_paced_p99_ms": figures["get_subject_paced_p99_ms"],
    }


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subjects", type=int, default=0, help="default: events / 8")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--post-clients", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50, help="concurrent readers")
    parser.add_argument("--reads", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=200, help="reads before measuring")
    parser.add_argument("--prefix", default="bench", help="topic prefix")
    parser.add_argument("--api-workers", type=int, default=1, help="API processes on the port")
    parser.add_argument(
        "--paced-rate", type=float, default=PACED_RATE, help="reads/s offered in the paced phase"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="haven-api-bench-") as tmp,
        embedded_infra(Path(tmp), timeout_s=60) as endpoints,
        Progress(console=Console(stderr=True)) as progress,
    ):
        figures = run_api_bench(endpoints, args, progress)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
