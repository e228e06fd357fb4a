"""Sealer throughput: preload the inboxes, then time the drain into the log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from rich.progress import Progress
from sqlalchemy import Engine, text

from events.topics import inbox_topic
from infra.endpoints import Endpoints
from projectors.keyring import Keyring
from projectors.registration import register_agency
from projectors.sealer import SealerConfig
from projectors.sealer_store import SealerStore
from projectors.sealer_thread import SealerThread
from services.bench.workload import Agency, Record


async def preload(bootstrap: str, prefix: str, records: list[Record]) -> None:
    """Send every record to its agency's inbox and wait for the acks."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=1_048_576,
        max_request_size=4 * 1_048_576,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(inbox_topic(prefix, r.agency), value=r.value, key=r.key)
            for r in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def register_all(
    engine: Engine, bootstrap: str, prefix: str, agencies: list[Agency]
) -> dict[str, str]:
    """Register every agency (six partitions per inbox, like the log); their tokens."""
    return {
        agency_id: register_agency(
            engine,
            bootstrap,
            topic_prefix=prefix,
            partitions=6,
            agency_id=agency_id,
            agency_type=kind,
            jurisdiction=country,
        ).token.token
        for agency_id, kind, country in agencies
    }


def _sealed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM haven_core.sealed_events")).scalar_one())


def _steady_rate(first: tuple[float, int] | None, finished: float, total: int) -> int | None:
    """Rate after the first batch committed (group join and start-up excluded)."""
    if first is None or finished <= first[0] or total <= first[1]:
        return None
    return round((total - first[1]) / (finished - first[0]))


def run_sealer_bench(
    endpoints: Endpoints,
    engine: Engine,
    master_key: bytes,
    prefix: str,
    records: list[Record],
    progress: Progress,
    batch_max: int,
    agencies: list[Agency],
) -> dict[str, Any]:
    """Preload (timed: ingest), drain (timed: sealer); returns the figures."""
    bootstrap = endpoints.bootstrap_servers
    register_all(engine, bootstrap, prefix, agencies)
    started = time.perf_counter()
    asyncio.run(preload(bootstrap, prefix, records))
    ingest_s = time.perf_counter() - started
    config = SealerConfig(
        bootstrap_servers=bootstrap,
        topic_prefix=prefix,
        group_id=f"{prefix}-sealer",
        batch_max=batch_max,
    )
    task = progress.add_task("sealing", total=len(records))
    started = time.perf_counter()
    sealer = SealerThread(config, SealerStore(engine), Keyring(engine, master_key)).start()
    first: tuple[float, int] | None = None
    try:
        done = 0
        while done < len(records):
            time.sleep(0.1)
            done = _sealed(engine)
            if first is None and done:
                first = (time.perf_counter(), done)
            progress.update(task, completed=done)
        finished = time.perf_counter()
        seal_s = finished - started
    finally:
        sealer.stop()
    return {
        "events": len(records),
        "ingest_events_per_s": round(len(records) / ingest_s),
        "sealer_events_per_s": round(len(records) / seal_s),
        "sealer_drain_s": round(seal_s, 2),
        "sealer_steady_events_per_s": _steady_rate(first, finished, len(records)),
        "sealer_batch_max": batch_max,
    }
