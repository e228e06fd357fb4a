"""Foreground (owned) mode: the infra lives exactly as long as this Python process.

Children carry ``PR_SET_PDEATHSIG``, so even a SIGKILL of the owner takes
them down; a normal exit, an exception, SIGINT or SIGTERM stops them in
order.  The state file is written too, so other ``haven`` commands of the
same data dir find the infra, and removed on stop.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType

from infra.embedded.lifecycle import (
    Started,
    Timings,
    restart_part,
    start_infra,
    stop_recorded,
)
from infra.embedded.paths import InfraPaths
from infra.embedded.state import locked, read_state, running_state, write_state
from infra.endpoints import Endpoints


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class EmbeddedInfra:
    """Broker + Postgres of ``data_dir`` owned by this process.

    If infra already runs in ``data_dir`` (e.g. ``haven infra up``), it is
    reused and left running on stop.
    """

    def __init__(self, data_dir: Path, *, timeout_s: float = 30.0) -> None:
        self.paths = InfraPaths.for_data_dir(data_dir)
        self.timeout_s = timeout_s
        self.timings: Timings | None = None
        self._started: Started | None = None
        self._endpoints: Endpoints | None = None
        self._owner_pid = os.getpid()
        self._previous_sigterm: signal.Handlers | None = None

    @property
    def endpoints(self) -> Endpoints:
        """The endpoints; raises ``RuntimeError`` before ``start``."""
        if self._endpoints is None:
            raise RuntimeError("EmbeddedInfra not started")
        return self._endpoints

    @property
    def owned(self) -> bool:
        """True when this object started the processes (and will stop them)."""
        return self._started is not None

    def start(self) -> Endpoints:
        """Start (or reuse) the infra and return its endpoints.

        Must run in the main thread: the kernel sends the death signal when the
        *thread* that spawned a child exits, not only the process.
        """
        if self._endpoints is not None:
            return self._endpoints
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("EmbeddedInfra.start() must be called from the main thread")
        with locked(self.paths):
            state = running_state(self.paths)
            if state is None:
                leftover = read_state(self.paths)
                if leftover is not None:
                    stop_recorded(self.paths, leftover)
                self._started = start_infra(self.paths, owned=True, timeout_s=self.timeout_s)
                state = self._started.state
                self.timings = self._started.timings
                write_state(self.paths, state)
                atexit.register(self.stop)
                self._install_sigterm()
        self._endpoints = Endpoints(state.bootstrap_servers, state.database_url, embedded=True)
        return self._endpoints

    def dead_parts(self) -> list[str]:
        """Owned children that exited: ``postgres``, ``broker`` (reused infra: none)."""
        started = self._started
        if started is None:
            return []
        return [
            name
            for name, proc in (("postgres", started.postgres), ("broker", started.broker))
            if proc.poll() is not None
        ]

    def restart(self, part: str) -> None:
        """Start a dead owned child again on its own port (main thread only)."""
        if self._started is None:
            raise RuntimeError("only infra this object started can be restarted")
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("EmbeddedInfra.restart() must be called from the main thread")
        with locked(self.paths):
            self._started = restart_part(self.paths, self._started, part, self.timeout_s)
            write_state(self.paths, self._started.state)

    def _install_sigterm(self) -> None:
        """Turn SIGTERM into SystemExit (so cleanup runs) unless someone handles it already."""
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_sigterm = signal.SIG_DFL
            signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def stop(self) -> None:
        """Stop what this object started (no-op for reused infra or in a forked child)."""
        started, self._started = self._started, None
        self._endpoints = None
        if started is None or os.getpid() != self._owner_pid:
            return
        atexit.unregister(self.stop)
        with locked(self.paths):
            stop_recorded(self.paths, started.state)
        for proc in (started.postgres, started.broker):
            proc.poll()
        if (
            self._previous_sigterm is not None
            and signal.getsignal(signal.SIGTERM) is _exit_on_sigterm
        ):
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def embedded_infra(data_dir: Path, *, timeout_s: float = 30.0) -> Iterator[Endpoints]:
    """``with embedded_infra(dir) as endpoints:`` runs owned infra for the block."""
    with EmbeddedInfra(data_dir, timeout_s=timeout_s) as endpoints:
        yield endpoints
