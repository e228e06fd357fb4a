"""``haven worker`` with two shares of the log, in two engine processes (the default) or
in one: each share projects its partitions, together every partition, ending equal to a
one-process replay; the archive replay in two processes reproduces the live read models."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from infra.db import sync_engine
from infra.endpoints import Endpoints
from services.bench.sealer_bench import preload, register_all
from services.bench.worker_proc import command_words, running_worker, worker_env
from services.bench.workload import BENCH_AGENCIES, workload
from services.scenarios.synthetic import first_cases
from tests.integration.test_engine_shares import applied, assert_replay_equal, positions

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

HAVEN = Path(sys.executable).parent / "haven"
EVENTS = 3000


def _engine_shares(supervisor: subprocess.Popen[bytes]) -> list[list[str]]:
    """Each engine child's ``--share`` values."""
    found = []
    for child in psutil.Process(supervisor.pid).children():
        args = command_words(child)
        if "--role" in args and args[args.index("--role") + 1] == "engine":
            pairs = itertools.pairwise(args)
            found.append([value for option, value in pairs if option == "--share"])
    return sorted(found)


@pytest.mark.parametrize(
    ("settings", "children"),
    [
        ({"HAVEN_ENGINE_SHARES": "2", "HAVEN_ENGINE_PROCESSES": "1"}, [["0/2", "1/2"]]),
        ({"HAVEN_ENGINE_SHARES": "2"}, [["0/2"], ["1/2"]]),
    ],
    ids=["one-process", "two-processes"],
)
def test_two_engine_shares_project_every_partition(
    settings: dict[str, str],
    children: list[list[str]],
    infra: Endpoints,
    database_url: str,
    replay_database_url: str,
    topic_prefix: str,
    embedded_data_dir: Path,
    tmp_path: Path,
) -> None:
    engine = sync_engine(database_url)
    bootstrap = infra.bootstrap_servers
    register_all(engine, bootstrap, topic_prefix, BENCH_AGENCIES)  # six partitions
    asyncio.run(preload(bootstrap, topic_prefix, workload(first_cases(300), EVENTS, 300, seed=3)))
    endpoints = Endpoints(bootstrap, database_url, embedded=infra.embedded)
    env = worker_env(endpoints, embedded_data_dir, topic_prefix) | settings
    log_path = tmp_path / "worker.log"
    with running_worker(env, log_path) as worker:
        deadline = time.monotonic() + 300
        while applied(engine)[0] < EVENTS:
            assert worker.process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{applied(engine)} of {EVENTS} applied"
            time.sleep(0.5)
        assert _engine_shares(worker.process) == children
    output = log_path.read_text()
    assert worker.process.returncode == 0, output[-3000:]
    assert "did not drain in time" not in output
    assert '"level": "error"' not in output, output[-3000:]
    ends = positions(engine)
    assert set(ends) == set(range(6)), "every partition was projected"
    distinct, rows = applied(engine)
    assert rows == distinct == EVENTS, "each event applied once, on its one partition"
    scratch = sync_engine(replay_database_url)
    assert_replay_equal(engine, scratch, bootstrap, f"{topic_prefix}.log.v1")
    scratch.dispose()

    audit = subprocess.run(
        [str(HAVEN), "audit", "replay", "--from-archive", "--processes", "2", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(audit.stdout)
    assert audit.returncode == 0, report
    assert report["ok"]
    assert report["events"] == sum(ends.values())
    engine.dispose()
