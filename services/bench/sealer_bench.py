"""Sealer throughput: preload the inboxes, then time the drain into the log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from rich.progress import Progress
from sqlalchemy import Engine

from events.kafka_security import aiokafka_kwargs
from events.limits import MAX_EVENT_BYTES, MAX_MESSAGE_BYTES
from events.publisher import CONTENT_TYPE_HEADER
from events.topics import inbox_topic
from infra.endpoints import Endpoints
from projectors.bootstrap import sealer_pool, sealer_thread
from projectors.directory.registration import register_agency
from projectors.keys.keyring import Keyring
from projectors.sealer.service import SealerConfig
from services.bench.stats import scalar, wait_for_count
from services.bench.workload import Agency, Record

#: Records sealed, durable in the outbox and acknowledged by the log (no engine runs
#: here to delete outbox rows): the sealer's marks less the outbox rows still pending.
#: Each mark is written with its outbox row, so the difference is the rows relayed.
#: Counting the relayed rows of the outbox itself, ten times a second, read every
#: sealed record's whole row each time (about 14 ms of Postgres at 40,000 records
#: against 2.5 ms here: the marks are narrow and the pending rows have their own
#: index), taken from the sealer being measured (README, "Benchmark").
RELAYED = (
    "SELECT (SELECT count(*) FROM haven_core.sealed_events)"
    " - (SELECT count(*) FROM haven_core.sealed_outbox WHERE relayed_at IS NULL)"
)


async def preload(bootstrap: str, prefix: str, records: list[Record]) -> None:
    """Send every record to its agency's inbox and wait for the acks."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=MAX_EVENT_BYTES,
        max_request_size=MAX_MESSAGE_BYTES,
        **aiokafka_kwargs(),
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                inbox_topic(prefix, r.agency),
                value=r.value,
                key=r.key,
                headers=[CONTENT_TYPE_HEADER],
            )
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
        batch_max=batch_max,
    )
    started = time.perf_counter()
    pool = sealer_pool(endpoints.database_url)  # as the worker's sealer has them
    sealer = sealer_thread(pool, Keyring(pool, master_key), config)
    try:
        drained = wait_for_count(lambda: scalar(engine, RELAYED), len(records), progress, "sealing")
    finally:
        sealer.stop()
        pool.dispose()
    seal_s = drained.finished - started
    return {
        "events": len(records),
        "ingest_events_per_s": round(len(records) / ingest_s),
        "sealer_events_per_s": round(len(records) / seal_s),
        "sealer_drain_s": round(seal_s, 2),
        "sealer_steady_events_per_s": drained.steady_rate(len(records)),
        "sealer_batch_max": batch_max,
    }
