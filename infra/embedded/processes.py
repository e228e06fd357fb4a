"""Spawning, identifying and stopping the broker and Postgres processes.

Two modes: *owned* children (foreground) get ``PR_SET_PDEATHSIG`` so they die
with the Python process that started them, even on SIGKILL; *detached*
children start in a new session and outlive the command that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from infra.parent_death import die_with_parent

_CREATE_TIME_TOLERANCE_S = 1.0
_KILL_WAIT_S = 5.0


@dataclass(frozen=True)
class RunAs:
    """A system user to run a child as (Postgres refuses to run as root)."""

    uid: int
    gid: int


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port on ``host`` (the usual bind-to-0 probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    owned: bool,
    death_signal: signal.Signals = signal.SIGTERM,
    run_as: RunAs | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout/stderr appended to ``log_path``.

    Owned children get their own process group (a terminal Ctrl-C reaches the
    owner only, which then stops them in order) and ``death_signal`` when the
    owner dies.  Detached children get a new session.  Call from the main thread:
    the kernel ties the death signal to the spawning thread.
    """
    user_kwargs: dict[str, object] = {}
    if run_as is not None:
        user_kwargs = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    with log_path.open("ab") as log:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            cwd="/",
            start_new_session=not owned,
            process_group=0 if owned else None,
            preexec_fn=die_with_parent(death_signal, os.getpid()) if owned else None,
            **user_kwargs,
        )


def create_time(pid: int) -> float:
    """The kernel start time of ``pid`` (used to tell it from a recycled pid)."""
    return psutil.Process(pid).create_time()


def is_running(pid: int, started: float, name: str | None = None) -> bool:
    """True when ``pid`` is alive, not a zombie, started at ``started`` and is called ``name``."""
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - started) > _CREATE_TIME_TOLERANCE_S:
            return False
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return name is None or proc.name() == name
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(pid: int, started: float, sig: signal.Signals, timeout_s: float) -> bool:
    """Send ``sig``, wait up to ``timeout_s``, then SIGKILL the process group.

    Returns True when the process had to be killed.  A pid that is no longer
    the recorded process (dead or recycled) is left alone.
    """
    if not is_running(pid, started):
        _reap(pid)
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid, started):
            return False
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + _KILL_WAIT_S
    while is_running(pid, started) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.02)
    _reap(pid)
    return True


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
