"""Role children forked from a supervisor that imported their code once.

A role's child started as a new interpreter spent about 1.5-2 s of CPU
importing faust, SQLAlchemy, kafka-python and the stream processors before
it did anything, at every start and every restart.  The supervisor now
imports them once (:func:`preload`, then ``gc.freeze``, so that neither its
collections nor the children's dirty the pages they share) and forks each
child (:func:`fork_role`).  The child then runs ``haven worker --role ROLE
[--share I/N ...]`` exactly as that command line would: it reads and checks
its settings again, checks the infrastructure, runs in its own process
group, gets the parent-death signal, reads stdin from ``/dev/null`` and shows
that command line in ``ps`` (``setproctitle``).  :class:`ForkedChild` is the
part of ``subprocess.Popen`` the supervisor uses.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import traceback

from setproctitle import setproctitle

from infra.parent_death import die_with_parent

__all__ = ["ForkedChild", "fork_role", "preload", "role_argv"]

#: The signals that stop a child: blocked across the fork, so that one sent before the
#: child has dropped the supervisor's handlers reaches it once it has.
STOPS = {signal.SIGTERM, signal.SIGINT}


def preload() -> None:
    """Import what every role's child imports, and freeze it (call before the first fork)."""
    import projectors.bootstrap  # noqa: F401  (the engine's composition root)
    import services.cli.main
    import services.cli.worker.role  # noqa: F401  (faust, the sealer, migrations)

    gc.collect()
    gc.freeze()


def role_argv(name: str) -> list[str]:
    """``worker --role ROLE [--share I/N ...]`` for the child ``name``."""
    role, _, shares = name.partition(":")
    return [
        *("worker", "--role", role),
        *(arg for share in filter(None, shares.split(",")) for arg in ("--share", share)),
    ]


class ForkedChild:
    """A forked child as its supervisor watches it (``poll``, ``wait``, signals)."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid, self.args = pid, args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code once the child has exited (``-N`` for signal N), else None."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        """Signal the child unless it was reaped (its pid may belong to another process)."""
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


def fork_role(name: str) -> ForkedChild:
    """Fork the child ``name`` (``sealer``, ``engine``, ``engine:I/N[,J/N...]``)."""
    argv = role_argv(name)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    # Held until the child has its own handlers: a SIGTERM sent at once then stops it.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child; the worker tests watch it run)
            os._exit(_run_child(argv, parent))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    return ForkedChild(pid, argv)


def _run_child(argv: list[str], parent: int) -> int:
    """Become ``haven worker`` with ``argv``; the exit code."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until the role's own handlers
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
        os.setpgid(0, 0)  # signals come from the supervisor, in pipeline order
        die_with_parent(signal.SIGKILL, parent)()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        command = [sys.executable, "-m", "services.cli.main", *argv]
        sys.argv = command[2:]
        setproctitle(" ".join(command))
        from services.cli.main import main

        main()
        return 0
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
