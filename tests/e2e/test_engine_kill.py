"""Exactly-once effect end to end: a worker SIGKILLed 5 times during a 20,000-event run
ends with the read models of an uninterrupted replay of the same log."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.engine_core import LogRecord
from projectors.registration import register_agency
from projectors.replay import replay_log
from services.bench.sealer_bench import preload
from services.bench.workload import BENCH_AGENCIES, workload
from services.scenarios.ctdc import load_cases

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"
EVENTS = 20_000
TABLES = ("subjects", "risk_register", "placements", "protective_orders", "timeline", "refusals")


def _log_records(bootstrap: str, topic: str) -> dict[int, list[LogRecord]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(partitions)
    found: dict[int, list[LogRecord]] = defaultdict(list)
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for tp, batch in consumer.poll(timeout_ms=500).items():
            found[tp.partition] += [LogRecord(r.offset, r.value) for r in batch]
    consumer.close()
    return dict(found)


def _end_offsets(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    total = sum(consumer.end_offsets(partitions).values())
    consumer.close()
    return total


def _scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def _read_models(engine: Engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for agency_id, *_ in BENCH_AGENCIES:
            for table in TABLES:
                rows = conn.execute(text(f'SELECT * FROM "agency_{agency_id}"."{table}"'))
                found[f"{agency_id}.{table}"] = sorted(
                    json.dumps(dict(r._mapping), sort_keys=True, default=str) for r in rows
                )
    return found


def _wait_done(engine: Engine, bootstrap: str, topic: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sealed = _scalar(engine, "SELECT count(*) FROM haven_core.sealed_events")
        applied = _scalar(
            engine,
            "SELECT sum(next_offset) FROM haven_core.engine_positions WHERE topic = :t",
            t=topic,
        )
        if sealed >= EVENTS and applied == _end_offsets(bootstrap, topic):
            return
        time.sleep(1.0)
    raise AssertionError(f"pipeline not done: {sealed} sealed, {applied} applied")


def test_sigkilled_worker_ends_equal_to_an_uninterrupted_replay(
    infra: Endpoints,
    database_url: str,
    replay_database_url: str,
    topic_prefix: str,
    embedded_data_dir: Path,
) -> None:
    engine = sync_engine(database_url)
    bootstrap = infra.bootstrap_servers
    for agency_id, kind, country in BENCH_AGENCIES:
        register_agency(
            engine,
            bootstrap,
            topic_prefix=topic_prefix,
            partitions=3,
            agency_id=agency_id,
            agency_type=kind,
            jurisdiction=country,
        )
    records = workload(load_cases(limit=2000), EVENTS, 2000, seed=11)
    asyncio.run(preload(bootstrap, topic_prefix, records))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        DATABASE_URL=database_url,
        HAVEN_TOPIC_PREFIX=topic_prefix,
        HAVEN_DATA_DIR=str(embedded_data_dir),
        HAVEN_PARTITIONS="3",
        HAVEN_SESSION_TIMEOUT_S="4",
        HAVEN_LOG_LEVEL="WARNING",
    )
    rng = random.Random(5)
    topic = f"{topic_prefix}.log.v1"
    kills = 0
    while kills < 5:
        worker = subprocess.Popen(
            [str(HAVEN), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(3.0, 7.0))
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        kills += 1
    worker = subprocess.Popen(
        [str(HAVEN), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_done(engine, bootstrap, topic, timeout_s=240)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=60)
    assert '"level": "error"' not in errors, errors[-3000:]
    live = _read_models(engine)
    assert sum(len(rows) for rows in live.values()) > EVENTS  # the run really projected

    log = _log_records(bootstrap, topic)
    replayed = sync_engine(replay_database_url)
    with replayed.begin() as conn:
        for agency_id, kind, country in BENCH_AGENCIES:
            conn.execute(
                text(
                    "INSERT INTO haven_core.agencies (id, agency_type, jurisdiction, name,"
                    " db_role) VALUES (:i, :t, :j, :i, :i)"
                ),
                {"i": agency_id, "t": kind, "j": country},
            )
    replay_log(replayed, topic, log)
    assert _read_models(replayed) == live
    engine.dispose()
    replayed.dispose()
