"""Collections pause while an engine batch runs, and resume when the last batch ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from infra.collector import collector_paused


@pytest.fixture(autouse=True)
def _enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_a_block_pauses_collections_and_resumes_them() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collections_resume_after_a_failing_block() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_overlapping_blocks_in_two_threads_resume_when_the_last_ends() -> None:
    entered, release = threading.Event(), threading.Event()

    def other_batch() -> None:
        with collector_paused():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other_batch)
    thread.start()
    assert entered.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's batch still runs
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_disabled_elsewhere_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
