"""``haven worker --role all``: the sealer and the engine as supervised child processes.

Each role runs in its own process (its own GIL).  The engine's shares of the
log (``HAVEN_ENGINE_SHARES``) run in ``HAVEN_ENGINE_PROCESSES`` children
(default one per share), each named ``engine:`` and its shares (``engine:0/2,1/2``) and
run as ``--role engine --share 0/2 --share 1/2``; one share is a lone
``engine`` in the consumer group.  The supervisor forks each child from
the code it imported once (:mod:`services.cli.worker.forked`).  The main
thread watches them twice a second; a child that dies is started again with
the backoff of ``haven up`` (0.5 s doubling, reset after a minute of running), and when one keeps
failing (:data:`MAX_FAILURES` restarts in a row) the others are stopped too
and the worker exits 1.  Stopping (SIGTERM, Ctrl-C) drains in pipeline
order: the sealer gets SIGTERM and seals and relays what it has, then the
engine processes get SIGTERM together and apply what reached the log; a
child that does not finish within its share of
``HAVEN_WORKER_STOP_TIMEOUT_S`` is killed.  The
children get ``PR_SET_PDEATHSIG`` SIGKILL: a killed supervisor takes them with
it, as a killed single-process worker would.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from projectors.engine.share import shares_text, spread
from services.cli.backoff import Backoff

logger = logging.getLogger("haven.worker")

#: Restarts in a row (none of them running for a minute) before the worker gives up.
MAX_FAILURES = 5
#: Share of the stop timeout the children may use (``haven up`` kills at the full timeout).
STOP_SHARE = 0.9
#: Share of that the sealer may drain; the engine gets the rest.
SEALER_SHARE = 0.5


class ChildProcess(Protocol):
    """What the supervisor uses of a child process (``subprocess.Popen`` has it, and
    :class:`services.cli.worker.forked.ForkedChild`)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


#: Starts the child of a name (``sealer``, ``engine``, ``engine:0/2``).
Spawn = Callable[[str], ChildProcess]


def child_names(shares: int, engine_processes: int) -> list[str]:
    """The children in pipeline order: ``sealer``, then ``engine`` (one share: the
    consumer group) or ``engine:I/N[,J/N...]`` per engine process (its shares)."""
    if shares == 1:
        return ["sealer", "engine"]
    return [
        "sealer",
        *(f"engine:{shares_text(own)}" for own in spread(shares, engine_processes)),
    ]


def stage(name: str) -> str:
    """The role of a child (``engine`` for ``engine:0/2``): children of one stage stop together."""
    return name.partition(":")[0]


@dataclass
class Child:
    """One role's process and its restart backoff."""

    role: str
    process: ChildProcess
    backoff: Backoff = field(default_factory=Backoff)
    restarts: int = 0


class RoleSupervisor:
    """Runs ``roles`` (in pipeline order) until ``stopping`` is set or one keeps failing."""

    def __init__(
        self,
        roles: Sequence[str],
        spawn: Spawn,
        stopping: threading.Event,
        stop_timeout_s: float,
        max_failures: int = MAX_FAILURES,
    ) -> None:
        self._roles, self._spawn, self._stopping = roles, spawn, stopping
        self._stop_timeout_s, self._max_failures = stop_timeout_s, max_failures
        self.children: list[Child] = []

    def run(self) -> int:
        """Start every role, watch them; returns the exit code (0 on a clean stop)."""
        self.children = [Child(role, self._spawn(role)) for role in self._roles]
        logger.info(
            "worker started", extra={"children": {c.role: c.process.pid for c in self.children}}
        )
        failed = False
        while not failed and not self._stopping.wait(0.5):
            for child in self.children:
                if child.process.poll() is not None and not self._restart(child):
                    failed = True
                    break
        clean = self.stop()
        return 1 if failed or not clean else 0

    def _restart(self, child: Child) -> bool:
        """Start a dead child again after its backoff; False once it keeps failing."""
        delay = child.backoff.delay(time.monotonic())
        extra = {"role": child.role, "exit_code": child.process.returncode, "delay_s": delay}
        if child.backoff.failures > self._max_failures:
            logger.error("worker child keeps failing: stopping the worker", extra=extra)
            return False
        logger.error("worker child died: restarting", extra=extra)
        if self._stopping.wait(delay):
            return True
        child.process = self._spawn(child.role)
        child.restarts += 1
        logger.info("worker child restarted", extra={"role": child.role, "pid": child.process.pid})
        return True

    def stop(self) -> bool:
        """Drain the stages in pipeline order, a stage's children together.

        True when each child exited 0 in time.
        """
        logger.info("worker stopping: draining the sealer, then the engine")
        clean = True
        deadline = time.monotonic() + self._stop_timeout_s * STOP_SHARE
        stages = [[c for c in self.children if stage(c.role) == s] for s in self._stages()]
        for n, children in enumerate(stages):
            share = SEALER_SHARE if n < len(stages) - 1 else 1.0
            budget = max((deadline - time.monotonic()) * share, 1.0)
            for child in children:
                _signal_stop(child)
            until = time.monotonic() + budget
            for child in children:
                clean = _wait_child(child, max(until - time.monotonic(), 0.1)) and clean
        return clean

    def _stages(self) -> list[str]:
        return list(dict.fromkeys(stage(child.role) for child in self.children))


def _signal_stop(child: Child) -> None:
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)


def _wait_child(child: Child, timeout_s: float) -> bool:
    process = child.process
    if process.returncode is None:
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning(
                "worker child did not drain in time: killed",
                extra={"role": child.role, "timeout_s": round(timeout_s, 1)},
            )
            process.kill()
            process.wait()
            return False
    # Killed by this SIGTERM before its handlers were installed: it had started nothing.
    return process.returncode in (0, -signal.SIGTERM)
