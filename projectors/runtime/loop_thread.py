"""Run a service loop (sealer, engine, scheduler) on its own event loop in a thread.

For the demo, the bench and tests, which drive the pipeline in-process;
``haven worker`` runs the same loops inside the Faust worker instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol


class Loop(Protocol):
    """What a service loop offers: ``run`` until ``stop``."""

    def run(self) -> Awaitable[None]:
        """Run until stopped."""

    def stop(self) -> None:
        """Ask the loop to finish."""


class LoopThread:
    """A loop built and run in a daemon thread; ``start()`` returns once ``ready`` is set."""

    def __init__(self, build: Callable[[], Loop], name: str) -> None:
        self._build = build
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.service: Loop | None = None
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 30.0) -> LoopThread:
        """Start and wait until the service says it is ready."""
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=self._name, daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"{self._name} did not start within {timeout_s}s: {self.error!r}")
        return self

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            self.service = self._build()  # aiokafka clients bind to this loop
            task = asyncio.ensure_future(self.service.run())
            event = getattr(self.service, "ready", None)
            if isinstance(event, asyncio.Event):
                await event.wait()
            ready.set()
            await task

        try:
            self._loop.run_until_complete(main())
        except BaseException as exc:  # reported to the owner, who decides
            self.error = exc
            ready.set()
        finally:
            self._loop.close()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the service to stop and wait for its thread."""
        if self._loop is not None and self.service is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.service.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)
