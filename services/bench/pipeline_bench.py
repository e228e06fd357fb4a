"""End-to-end figures: inbox to read models (sealer + engine, one worker each),
and how long a withdrawal takes from the inbox to the last in-scope row gone."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from rich.progress import Progress
from sqlalchemy import Engine, text

from events.topics import inbox_topic, log_topic
from infra.endpoints import Endpoints
from projectors.engine_batch import EngineSettings
from projectors.engine_core import EngineCore
from projectors.engine_service import EngineConfig, EngineService
from projectors.keyring import Keyring
from projectors.loop_thread import LoopThread
from projectors.policy_loader import default_policy_path, load_policy
from projectors.registration import register_agency
from projectors.registry import default_registry
from projectors.sealer import Sealer, SealerConfig
from projectors.sealer_store import SealerStore
from services.bench.sealer_bench import preload
from services.bench.workload import BENCH_AGENCIES, Record
from services.scenarios.builders import cloudevent


def _scalar(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def _applied(engine: Engine, topic: str) -> int:
    return _scalar(
        engine, "SELECT sum(next_offset) FROM haven_core.engine_positions WHERE topic = :t", t=topic
    )


def _threads(endpoints: Endpoints, engine: Engine, key: bytes, prefix: str) -> list[LoopThread]:
    bootstrap = endpoints.bootstrap_servers
    sealer_config = SealerConfig(bootstrap, prefix, group_id=f"{prefix}-sealer")
    core = EngineCore(
        engine,
        default_registry(),
        load_policy(default_policy_path()),
        EngineSettings(erasure_hold_s=0.0),
        Keyring(engine, key),
    )
    engine_config = EngineConfig(bootstrap, prefix, group_id=f"{prefix}-engine")
    return [
        LoopThread(
            lambda: Sealer(sealer_config, SealerStore(engine), Keyring(engine, key)), "sealer"
        ).start(),
        LoopThread(lambda: EngineService(engine_config, core), "engine").start(),
    ]


def _wait_applied(engine: Engine, topic: str, target: int, progress: Progress) -> float:
    task = progress.add_task("sealing + projecting", total=target)
    done = 0
    while done < target:
        time.sleep(0.05)
        done = _applied(engine, topic)
        progress.update(task, completed=done)
    return time.perf_counter()


def _withdrawal_latencies(
    engine: Engine, bootstrap: str, prefix: str, records: list[Record], count: int
) -> list[float]:
    """Withdraw one granted subject at a time on the idle pipeline; seconds until erased."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    latencies = []
    granted = [json.loads(r.value) for r in records if b"consent.granted" in r.value]
    for event in granted[:count]:
        withdrawal = cloudevent(
            agency=event["agency"],
            jurisdiction=event["jurisdiction"],
            event_type="haven.consent.withdrawn.v1",
            subject=event["subject"],
            time=datetime.now(UTC),
            data={"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
            event_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        producer.send(
            inbox_topic(prefix, event["agency"]),
            key=event["subject"].encode(),
            value=json.dumps(withdrawal).encode(),
        ).get(timeout=10)
        sql = "SELECT count(*) FROM haven_core.erasure_receipts WHERE withdrawal_event_id = :w"
        while not _scalar(engine, sql, w=withdrawal["id"]):
            time.sleep(0.002)
        latencies.append(time.perf_counter() - started)
    producer.close()
    return latencies


def run_pipeline_bench(
    endpoints: Endpoints,
    engine: Engine,
    master_key: bytes,
    prefix: str,
    records: list[Record],
    progress: Progress,
    withdrawals: int = 50,
) -> dict[str, Any]:
    """Preload the inboxes, then time sealer + engine until every record is projected."""
    bootstrap = endpoints.bootstrap_servers
    for agency_id, kind, country in BENCH_AGENCIES:
        register_agency(
            engine,
            bootstrap,
            topic_prefix=prefix,
            partitions=6,
            agency_id=agency_id,
            agency_type=kind,
            jurisdiction=country,
        )
    asyncio.run(preload(bootstrap, prefix, records))
    target = len(records) + len(BENCH_AGENCIES) * 6  # + one registration per log partition
    started = time.perf_counter()
    threads = _threads(endpoints, engine, master_key, prefix)
    try:
        finished = _wait_applied(engine, log_topic(prefix), target, progress)
        latencies = _withdrawal_latencies(engine, bootstrap, prefix, records, withdrawals)
    finally:
        for thread in threads:
            thread.stop()
    latencies.sort()
    return {
        "pipeline_events_per_s": round(len(records) / (finished - started)),
        "pipeline_drain_s": round(finished - started, 2),
        "withdrawal_p50_ms": round(statistics.median(latencies) * 1e3, 1),
        "withdrawal_p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1e3, 1),
        "withdrawals_measured": len(latencies),
    }
