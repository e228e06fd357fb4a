"""An engine process's share loops run together: all finish, or the first failure
stops the others and is raised."""

from __future__ import annotations

import asyncio

import pytest

from projectors.runtime.together import Together


class _Loop:
    """Runs until stopped (then ``stops`` is counted), or fails after ``fail_after_s``."""

    def __init__(self, fail_after_s: float | None = None) -> None:
        self.fail_after_s = fail_after_s
        self.stopping = asyncio.Event()
        self.stops = 0
        self.finished = False

    async def run(self) -> None:
        if self.fail_after_s is not None:
            await asyncio.sleep(self.fail_after_s)
            raise RuntimeError("batch failed")
        await self.stopping.wait()
        await asyncio.sleep(0.01)  # drains after it was asked to stop
        self.finished = True

    def stop(self) -> None:
        self.stops += 1
        self.stopping.set()


def test_stop_stops_every_loop_and_run_waits_for_them_all() -> None:
    async def scenario() -> list[_Loop]:
        loops = [_Loop(), _Loop()]
        together = Together(loops)
        running = asyncio.ensure_future(together.run())
        await asyncio.sleep(0.01)
        assert not running.done()
        together.stop()
        await asyncio.wait_for(running, 1)
        return loops

    loops = asyncio.run(scenario())
    assert [(loop.stops, loop.finished) for loop in loops] == [(1, True), (1, True)]


def test_the_first_failure_stops_the_others_and_is_raised() -> None:
    healthy = _Loop()

    async def scenario() -> None:
        await asyncio.wait_for(Together([healthy, _Loop(fail_after_s=0.01)]).run(), 1)

    with pytest.raises(RuntimeError, match="batch failed"):
        asyncio.run(scenario())
    assert (healthy.stops, healthy.finished) == (1, True)  # drained, not abandoned
