"""A forked worker child as the supervisor watches it, and the command line it takes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from services.cli.worker.forked import ForkedChild, role_argv


def _forked(seconds: float, code: int) -> ForkedChild:
    pid = os.fork()
    if pid == 0:  # the child of a pytest process: nothing of pytest's may run in it
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            time.sleep(seconds)
        finally:
            os._exit(code)
    return ForkedChild(pid, ["sleep"])


def test_poll_gives_none_while_it_runs_then_its_exit_code() -> None:
    child = _forked(0.3, 7)
    assert child.poll() is None
    assert child.wait(30) == 7
    assert child.poll() == 7
    assert child.returncode == 7


def test_wait_times_out_like_popen_and_a_signal_gives_its_negative_number() -> None:
    child = _forked(60, 0)
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(0.2)
    child.send_signal(signal.SIGTERM)
    assert child.wait(30) == -signal.SIGTERM


def test_kill_and_signals_after_reaping_touch_no_other_process() -> None:
    child = _forked(60, 0)
    child.kill()
    assert child.wait(30) == -signal.SIGKILL
    child.send_signal(signal.SIGTERM)  # reaped: its pid may be another process's now
    child.kill()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("sealer", ["worker", "--role", "sealer"]),
        ("engine", ["worker", "--role", "engine"]),
        ("engine:1/2", ["worker", "--role", "engine", "--share", "1/2"]),
        ("engine:0/4,2/4", ["worker", "--role", "engine", "--share", "0/4", "--share", "2/4"]),
    ],
)
def test_a_child_runs_the_command_line_of_its_name(name: str, argv: list[str]) -> None:
    assert role_argv(name) == argv
