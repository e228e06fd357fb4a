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
from projectors.directory.registration import register_agency
from projectors.log import LogRecord
from projectors.replay import replay_log
from services.bench.sealer_bench import preload
from services.bench.workload import BENCH_AGENCIES, workload
from services.scenarios.synthetic import first_cases

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

HAVEN = Path(sys.executable).parent / "haven"
EVENTS = int(os.environ.get("HAVEN_TEST_KILL_EVENTS", "20000"))
TABLES = ("subjects", "risk_register", "placements", "protective_orders", "timeline", "refusals")


def _log_records(bootstrap: str, topic: str, ends: dict[int, int]) -> dict[int, list[LogRecord]]:
    """Every record up to ``ends`` (the broker's own end offsets are not trusted: Tansu)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    found: dict[int, list[LogRecord]] = defaultdict(list)
    deadline = time.monotonic() + 120
    while any(consumer.position(tp) < ends.get(tp.partition, 0) for tp in partitions):
        assert time.monotonic() < deadline, "could not read the log back"
        for tp, batch in consumer.poll(timeout_ms=500).items():
            found[tp.partition] += [
                LogRecord(r.offset, r.value) for r in batch if r.offset < ends[tp.partition]
            ]
    consumer.close()
    return dict(found)


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


def _wait_done(engine: Engine, timeout_s: float) -> dict[int, int]:
    """Until every sealed event is applied; returns the engine's positions."""
    deadline = time.monotonic() + timeout_s
    applied = 0
    while time.monotonic() < deadline:
        applied = _scalar(
            engine,
            "SELECT count(DISTINCT (source, event_id)) FROM haven_core.applied_events"
            " WHERE source <> 'urn:haven:system'",
        )
        if applied >= EVENTS:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT partition, next_offset FROM haven_core.engine_positions")
                )
                return {row[0]: row[1] for row in rows}
        time.sleep(1.0)
    raise AssertionError(f"pipeline not done: {applied} of {EVENTS} events applied")


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
    records = workload(first_cases(2000), EVENTS, 2000, seed=11)
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
        killed = subprocess.Popen(
            [str(HAVEN), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(3.0, 7.0))
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        kills += 1
    worker = subprocess.Popen(
        [str(HAVEN), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ends = _wait_done(engine, timeout_s=300)
    except AssertionError as failed:  # what the worker said is the clue
        worker.send_signal(signal.SIGTERM)
        said = worker.communicate(timeout=60)[1].splitlines()
        raise AssertionError(
            f"{failed}; the worker's last lines:\n" + "\n".join(said[-30:])
        ) from None
    worker.send_signal(signal.SIGTERM)
    _, errors = worker.communicate(timeout=60)
    problems = [line for line in errors.splitlines() if '"level": "error"' in line]
    assert not problems, "\n".join(problems)[-3000:]
    live = _read_models(engine)
    assert sum(len(rows) for rows in live.values()) > EVENTS  # the run really projected

    log = _log_records(bootstrap, topic, ends)
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
