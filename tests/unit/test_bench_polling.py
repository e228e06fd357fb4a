"""The scale series' drain polls a slow count less often, so it does not load Postgres."""

from __future__ import annotations

import itertools
import time

from rich.progress import Progress

from services.bench.stats import wait_for_count


def _slow_count(calls: list[tuple[float, float]], took_s: float) -> int:
    started = time.perf_counter()
    time.sleep(took_s)
    calls.append((started, time.perf_counter()))
    return len(calls)


def test_a_spaced_poll_waits_nine_times_as_long_as_the_count_took() -> None:
    calls: list[tuple[float, float]] = []
    wait_for_count(lambda: _slow_count(calls, 0.05), 4, Progress(), "counting", spaced=True)
    assert len(calls) == 4
    for (started, ended), (next_started, _) in itertools.pairwise(calls):
        assert next_started - ended >= 9 * (ended - started) * 0.99
