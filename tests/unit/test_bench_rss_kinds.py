"""The bench's RSS sampler names each of the worker's processes by its kind."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from services.bench.worker_proc import process_kind

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
