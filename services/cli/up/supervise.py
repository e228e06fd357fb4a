"""``haven up``'s supervisor: restart a crashed worker, Postgres or broker with backoff.

The main thread watches the children twice a second.  A dead Postgres comes
back on its port with its data; a dead broker comes back empty, so the worker
is stopped, the log restored from the archive, the sealed outbox's
unarchived tail queued again (:mod:`projectors.audit.reopen`) and the worker
started again; a dead worker is simply started again.  Each part backs off
(0.5 s doubling to 30 s) while it keeps failing, and starts afresh once it
ran for a minute.  Spawning stays in the main thread: the kernel ties a
child's death signal to the thread that spawned it.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from infra.embedded import EmbeddedInfra
from services.cli.backoff import Backoff

logger = logging.getLogger("haven.up")


@dataclass
class Worker:
    """The worker child and how to start and stop it."""

    start: Callable[[], subprocess.Popen[bytes]]
    stop: Callable[[subprocess.Popen[bytes], float], None]
    process: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        """True while the worker runs."""
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Keeps the worker and the owned infra running until ``stopping`` is set."""

    def __init__(
        self,
        worker: Worker,
        infra: EmbeddedInfra | None,
        reopen: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        self._worker, self._infra, self._reopen = worker, infra, reopen
        self._stopping = stopping
        self._backoff: dict[str, Backoff] = {}
        self.restarts: dict[str, int] = {}

    def run(self, until: Callable[[], bool]) -> None:
        """Watch and restart until ``stopping`` or ``until()``."""
        while not self._stopping.wait(0.5) and not until():
            for part in self._infra.dead_parts() if self._infra else []:
                self._restart(part, self._restore_part)
            if not self._worker.alive():
                self._restart("worker", self._start_worker)

    def _restart(self, part: str, action: Callable[[str], None]) -> None:
        backoff = self._backoff.setdefault(part, Backoff())
        delay = backoff.delay(time.monotonic())
        logger.error("part down: restarting", extra={"part": part, "delay_s": delay})
        if self._stopping.wait(delay):
            return
        began = time.monotonic()
        try:
            action(part)
        except Exception:
            logger.exception("restart failed; trying again", extra={"part": part})
            return
        self.restarts[part] = self.restarts.get(part, 0) + 1
        logger.info(
            "part restarted",
            extra={"part": part, "elapsed_s": round(time.monotonic() - began, 3)},
        )

    def _start_worker(self, _part: str) -> None:
        if self._worker.process is not None:
            self._worker.stop(self._worker.process, 5.0)
        self._worker.process = self._worker.start()

    def _restore_part(self, part: str) -> None:
        assert self._infra is not None
        if part == "broker" and self._worker.process is not None:
            # Its consumers and group died with the broker's memory: start it afresh.
            self._worker.stop(self._worker.process, 5.0)
        self._infra.restart(part)
        if part == "broker":
            self._reopen()
            self._worker.process = self._worker.start()
