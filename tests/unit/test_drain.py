"""The drain bound of a stopping loop: no batch begun that would end past it."""

from __future__ import annotations

from infra.settings import WorkerSettings
from projectors.runtime.drain import Drain
from services.cli.worker.children import SEALER_SHARE, STOP_SHARE


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_started_is_never_over() -> None:
    clock = Clock()
    drain = Drain(5.0, clock=clock)
    drain.ran(60.0)
    clock.now += 1_000
    assert not drain.started
    assert not drain.over()


def test_over_once_the_budget_is_spent() -> None:
    clock = Clock()
    drain = Drain(5.0, clock=clock)
    drain.start()
    clock.now += 4.9
    assert not drain.over()
    clock.now += 0.2
    assert drain.over()


def test_the_bound_counts_from_the_first_start() -> None:
    clock = Clock()
    drain = Drain(5.0, clock=clock)
    drain.start()
    clock.now += 3.0
    drain.start()
    clock.now += 2.5
    assert drain.over()


def test_a_batch_that_would_not_fit_is_not_begun() -> None:
    clock = Clock()
    drain = Drain(10.0, clock=clock)
    drain.ran(0.5)
    drain.ran(3.0)
    drain.ran(1.0)
    drain.start()
    clock.now += 6.9
    assert not drain.over()  # 6.9 + 3.0 ends before 10
    clock.now += 0.2
    assert drain.over()  # the longest recent batch would end at 10.1


def test_only_recent_batches_count() -> None:
    clock = Clock()
    drain = Drain(10.0, recent=2, clock=clock)
    drain.ran(8.0)
    drain.ran(1.0)
    drain.ran(1.0)
    drain.start()
    clock.now += 8.5
    assert not drain.over()


def test_each_stage_drains_within_the_supervisors_share() -> None:
    """The supervisor stops the sealer, then the engines, within STOP_SHARE of the
    stop timeout, the sealer taking at most SEALER_SHARE of it: each stage's drain
    bound (which no batch is begun to overrun) leaves room for its shutdown."""
    for timeout_s in (5.0, 30.0, 120.0):
        settings = WorkerSettings(HAVEN_WORKER_STOP_TIMEOUT_S=timeout_s)
        window = timeout_s * STOP_SHARE
        sealer_at_most = window * SEALER_SHARE
        assert settings.stage_drain_s <= sealer_at_most
        assert settings.stage_drain_s + timeout_s / 20 <= window - sealer_at_most + 1e-9
