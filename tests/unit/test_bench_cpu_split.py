"""The bench's CPU split: cores per kind of process between two snapshots."""

from __future__ import annotations

import multiprocessing
import os
import time

import psutil

from services.bench.cpu_split import CpuSnapshot, cores_by_kind, cpu_us_per_event, snapshot


def test_cores_are_cpu_seconds_over_wall_seconds_per_kind() -> None:
    before = CpuSnapshot(10.0, {1: ("engine", 5.0), 2: ("postgres", 1.0), 3: ("engine", 2.0)})
    after = CpuSnapshot(
        12.0, {1: ("engine", 6.0), 2: ("postgres", 2.0), 4: ("engine", 0.5), 5: ("bench", 0.4)}
    )
    # pid 3 ended inside the window (counts nothing), pid 4 started in it (from zero)
    assert cores_by_kind(before, after) == {
        "bench": 0.2,
        "engine": 0.75,
        "postgres": 0.5,
        "total": 1.45,
    }


def test_cpu_per_event_is_cpu_seconds_over_events_per_kind() -> None:
    before = CpuSnapshot(10.0, {1: ("engine", 5.0), 2: ("postgres", 1.0), 3: ("engine", 2.0)})
    after = CpuSnapshot(
        99.0, {1: ("engine", 6.0), 2: ("postgres", 2.0), 4: ("engine", 0.5), 5: ("bench", 0.4)}
    )
    # over 4,000 events, whatever the wall time: 1.5 s of engine is 375 us an event
    assert cpu_us_per_event(before, after, 4000) == {
        "bench": 100.0,
        "engine": 375.0,
        "postgres": 250.0,
        "total": 725.0,
    }


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_busy_child_shows_in_its_kind_and_this_process_is_the_bench() -> None:
    before = snapshot()
    child = multiprocessing.get_context("fork").Process(target=_burn, args=(0.6,))
    child.start()
    assert child.pid is not None  # set once started
    _burn(0.2)
    deadline = time.monotonic() + 30
    while sum(psutil.Process(child.pid).cpu_times()[:2]) < 0.1:  # the child has burnt some
        assert time.monotonic() < deadline
        time.sleep(0.01)
    after = snapshot()  # the child still runs (its CPU is read while it lives)
    child.join(timeout=30)
    assert before.seconds[os.getpid()][0] == "bench"
    assert after.seconds[child.pid][0] == "other"
    cores = cores_by_kind(before, after)
    assert cores["bench"] > 0
    assert cores["other"] > 0
    # Each figure is rounded to 0.01 on its own: the rounded kinds may sum past the total.
    assert cores["total"] >= cores["bench"] + cores["other"] - 0.01
