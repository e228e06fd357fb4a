"""Engine services given fixed shares of the log's partitions (no consumer group).

Shares that split the partitions project every one of them; two services on the
same share (a second worker, a zombie) are fenced: each event is applied once,
and the read models equal those of a one-process replay of the same log.
"""

from __future__ import annotations

import asyncio
import os
import time
from functools import partial

import pytest
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.bootstrap import construct_engine_core, construct_engine_service, sealer_thread
from projectors.engine.service import LOG_ANSWER_BYTES, EngineConfig, EngineService
from projectors.keys.keyring import Keyring
from projectors.replay import replay_log
from projectors.runtime.loop_thread import LoopThread
from projectors.sealer.service import SealerConfig
from services.audit.replay import copy_directory
from services.bench.sealer_bench import preload, register_all
from services.bench.workload import BENCH_AGENCIES, workload
from services.scenarios.synthetic import first_cases
from tests.e2e.test_engine_kill import _log_records, _read_models

EVENTS = 1500
BUDGET = 6 * 64 * 1024  # what each engine may hold of its log partitions together


def applied(engine: Engine) -> tuple[int, int]:
    """Applied agency events: distinct, and rows (one per partition, source and id)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(DISTINCT (source, event_id)), count(*)"
                " FROM haven_core.applied_events WHERE source <> 'urn:haven:system'"
            )
        ).one()
    return int(row[0]), int(row[1])


def positions(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT partition, next_offset FROM haven_core.engine_positions"))
        return {row[0]: row[1] for row in rows}


def assert_replay_equal(live: Engine, scratch: Engine, bootstrap: str, topic: str) -> None:
    """A one-process replay of the log up to ``live``'s positions ends as ``live`` did."""
    copy_directory(live, scratch)
    replay_log(scratch, topic, _log_records(bootstrap, topic, positions(live)))
    assert _read_models(scratch) == _read_models(live)


@pytest.mark.parametrize(
    "shares",
    [((0, 2, 4), (1, 3, 5)), ((0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4, 5))],
    ids=["split", "same-share-twice"],
)
def test_engine_shares_project_every_partition_once(
    infra: Endpoints,
    database_url: str,
    replay_database_url: str,
    topic_prefix: str,
    shares: tuple[tuple[int, ...], ...],
) -> None:
    engine = sync_engine(database_url)
    bootstrap = infra.bootstrap_servers
    register_all(engine, bootstrap, topic_prefix, BENCH_AGENCIES)  # six partitions
    asyncio.run(preload(bootstrap, topic_prefix, workload(first_cases(150), EVENTS, 150, seed=9)))
    keyring = Keyring(engine, os.urandom(32))
    threads = [sealer_thread(engine, keyring, SealerConfig(bootstrap, topic_prefix))]
    for n, share in enumerate(shares):
        core = construct_engine_core(engine, keyring, hold_s=0.0)  # one per "process"
        # Small fetches (64 or 128 KiB a partition): applied all the same, each event once.
        config = EngineConfig(bootstrap, topic_prefix, partitions=share, fetch_budget_bytes=BUDGET)
        threads.append(LoopThread(partial(construct_engine_service, core, config), f"e{n}").start())
    try:
        deadline = time.monotonic() + 180
        while applied(engine)[0] < EVENTS:
            assert time.monotonic() < deadline, f"{applied(engine)} of {EVENTS} applied"
            time.sleep(0.3)
        for thread, share in zip(threads[1:], shares, strict=True):
            assert isinstance(thread.service, EngineService)
            fetcher = thread.service._consumer._fetcher  # the limit lives only there
            assert fetcher._max_partition_fetch_bytes == BUDGET // len(share)
            assert fetcher._fetch_max_bytes == LOG_ANSWER_BYTES  # an answer's bound too
    finally:
        for thread in reversed(threads):
            thread.stop()
    distinct, rows = applied(engine)
    assert set(positions(engine)) == set(range(6))
    assert rows == distinct == EVENTS, "each event applied once, on its one partition"
    scratch = sync_engine(replay_database_url)
    assert_replay_equal(engine, scratch, bootstrap, f"{topic_prefix}.log.v1")
    scratch.dispose()
    engine.dispose()
