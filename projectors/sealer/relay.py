"""The relay: sealed outbox rows into the log, in sequence order, at least once.

It runs inside the sealer's event loop with the sealer's producer.  The
sealer wakes it after each commit; the gateway's transactions ``NOTIFY``
(:data:`projectors.outbox.sealed.CHANNEL`); a poll every ``idle_s`` covers a
missed notification.  It reads the pending rows again at once only when the
last read was full or a wake came meanwhile: a batch is one read, not a read
and an empty one.  A row is marked relayed only after the broker
acknowledged it (``acks=all``); a crash in between produces it again, and the
engine drops the duplicate by ``(source, id)``.  On stop it first produces
every pending row (the drain), unless the database fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaProducer

from projectors.outbox.sealed_store import OutboxStore
from projectors.runtime.batch_send import HEADERS, send_in_batches
from projectors.sealer.known import KnownRecords
from projectors.sealer.prepared import Outgoing

logger = logging.getLogger("haven.relay")


class SealedRelay:
    """Produces the sealed outbox to ``log`` until stopped and drained."""

    def __init__(
        self, store: OutboxStore, log: str, *, batch_max: int = 2000, idle_s: float = 1.0
    ) -> None:
        self._store, self._log = store, log
        self._batch_max, self._idle_s = batch_max, idle_s
        self.wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.relayed = 0
        #: Records the sealer committed, whose values need not be read back.
        self.known = KnownRecords()

    async def relay_once(self, producer: AIOKafkaProducer) -> int:
        """Produce one batch of pending rows and mark them; returns how many."""
        started = time.perf_counter()
        rows = await asyncio.to_thread(self._store.pending, self._batch_max, self.known)
        if not rows:
            return 0
        futures = await send_in_batches(
            producer, [Outgoing(self._log, row.key, row.value, HEADERS) for row in rows]
        )
        await asyncio.gather(*futures)
        await asyncio.to_thread(self._store.mark_relayed, [row.seq for row in rows])
        self.known.forget(row.ref for row in rows)
        self.relayed += len(rows)
        logger.info(
            "sealed records relayed",
            extra={
                "records": len(rows),
                "elapsed_ms": round((time.perf_counter() - started) * 1e3, 1),
            },
        )
        return len(rows)

    async def run(self, producer: AIOKafkaProducer) -> None:
        """Relay until :meth:`stop`, then drain what is pending."""
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                # Cleared before the pending rows are read: a row committed after that
                # read comes with a wake (the sealer's, or a notification) set after it.
                self.wake.clear()
                try:
                    relayed = await self.relay_once(producer)
                except Exception:
                    if self._stopping.is_set():
                        logger.warning("relay stopped with rows pending (they stay durable)")
                        return
                    logger.exception("relay failed; retrying (the rows stay pending)")
                    await asyncio.sleep(1.0)
                    continue
                if relayed and (relayed >= self._batch_max or self._stopping.is_set()):
                    continue  # more may be pending; a drain reads until none is
                if self._stopping.is_set():
                    return
                if self.wake.is_set():
                    continue  # rows committed while this batch was relayed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self._idle_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await asyncio.to_thread(self._store.close)

    async def _listen(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(self._store.wait_notified, self._idle_s):
                    self.wake.set()
            except Exception:
                logger.warning("relay cannot listen for notifications; polling", exc_info=True)
                await asyncio.sleep(self._idle_s)

    def stop(self) -> None:
        """Produce what is pending, then finish."""
        self._stopping.set()
        self.wake.set()
