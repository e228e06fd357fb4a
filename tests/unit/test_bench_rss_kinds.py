"""The bench's RSS sampler: each of the worker's processes named by its kind, PSS read rarely."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

import psutil

from services.bench.worker_proc import RssSampler, process_kind

SLEEP = "import time; time.sleep(60)"


@contextmanager
def _running(*args: str) -> Iterator[psutil.Process]:
    process = subprocess.Popen([sys.executable, "-c", SLEEP, *args])
    found = psutil.Process(process.pid)
    deadline = time.monotonic() + 30
    while SLEEP not in found.cmdline() and time.monotonic() < deadline:
        time.sleep(0.01)  # forked, not yet exec'd: it still shows pytest's command line
    try:
        yield found
    finally:
        process.kill()
        process.wait(10)


def test_the_worker_its_roles_a_child_not_yet_started_and_a_program_it_ran() -> None:
    with (
        _running("worker", "--role", "all") as root,
        _running("worker", "--role", "engine", "--share", "0/2") as engine,
        _running("worker", "--role", "all") as forked,  # what a fork shows before its exec
        _running("other") as other,
    ):
        assert process_kind(root, root) == "supervisor"
        assert process_kind(engine, root) == "engine"
        assert process_kind(forked, root) is None
        assert process_kind(other, root) is None  # a program a role ran: the total only


GROW = (
    "import time; x = []\n"
    "for _ in range(40): x.append(bytearray(2_000_000)); x[-1][::4096] = b'1' * 489; "
    "time.sleep(0.03)\n"
    "time.sleep(60)"
)


def test_the_sampler_reads_pss_rarely_and_near_the_peak() -> None:
    """RSS is read at every sample, PSS (a page-table walk) at most every
    ``pss_every_s`` and once at the end, which finds the grown process's peak."""
    process = subprocess.Popen([sys.executable, "-c", GROW])
    sampler = RssSampler(process.pid, interval_s=0.01, pss_every_s=0.5)
    reads: list[float] = []
    read_pss = sampler._sample_pss

    def counted(tree: list[psutil.Process]) -> None:
        reads.append(time.monotonic())
        read_pss(tree)

    sampler._sample_pss = counted  # type: ignore[method-assign]
    try:
        started = time.monotonic()
        sampler.start()
        time.sleep(1.6)  # grows for about 1.2 s by 80 MB, then holds it
        peak = sampler.stop()
        took = time.monotonic() - started
    finally:
        process.kill()
        process.wait(10)
    assert peak >= 80
    assert 0.8 * peak < sampler.peak_pss_mb <= peak  # its pages are its own
    assert 2 <= len(reads) <= took / 0.5 + 2  # the first, the last, and few between
    assert all(b - a >= 0.5 for a, b in pairwise(reads[:-1]))  # the last comes when asked
