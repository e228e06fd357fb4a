"""Run a sealer on its own event loop in a background thread (demo, bench, tests)."""

from __future__ import annotations

import asyncio
import threading

from projectors.keys.keyring import Keyring
from projectors.sealer.service import Sealer, SealerConfig
from projectors.sealer.store import SealerStore


class SealerThread:
    """A sealer running in a daemon thread; ``start()`` returns once it subscribed."""

    def __init__(self, config: SealerConfig, store: SealerStore, keyring: Keyring) -> None:
        self._config, self._store, self._keyring = config, store, keyring
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.sealer: Sealer | None = None
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 30.0) -> SealerThread:
        """Start and wait until the sealer is subscribed."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="sealer", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"sealer did not start within {timeout_s}s: {self.error!r}")
        return self

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self.sealer = Sealer(self._config, self._store, self._keyring)

        async def main() -> None:
            assert self.sealer is not None
            task = asyncio.create_task(self.sealer.run())
            await self.sealer.ready.wait()
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
        """Ask the sealer to stop and wait for its thread."""
        if self._loop is not None and self.sealer is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.sealer.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)
