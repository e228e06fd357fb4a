"""The sealer's pipeline: a batch is prepared while the previous one commits.

At most one batch commits at a time, in fetch order.  A batch prepared while
another one commits counts that one's ``(source, id)`` as sealed and
advances its positions from where that one leaves them
(projectors/sealer/batch.py); when that commit fails or is fenced, the
prepared batch is dropped and the partitions of both are read again from
their stored positions.  Database calls run in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from projectors.log import PositionMoved
from projectors.sealer.prepared import Prepared

if TYPE_CHECKING:
    from projectors.sealer.service import Sealer

logger = logging.getLogger("haven.sealer")


@dataclass(frozen=True)
class Committing:
    """The batch whose commit runs while the next one is prepared."""

    prepared: Prepared
    task: asyncio.Task[None]
    started: float


class Pipeline:
    """Prepares and commits the sealer's batches, one commit in flight."""

    def __init__(self, sealer: Sealer, producer: AIOKafkaProducer) -> None:
        self._sealer, self._producer = sealer, producer
        self.batch = sealer.batch
        self._committing: Committing | None = None

    async def process(self, records: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Prepare this batch while the previous one commits, then start its commit."""
        committing = self._committing.prepared.refs if self._committing else frozenset()
        started = time.perf_counter()
        try:
            prepared = await self.batch.prepare(records, committing)
        except Exception:
            logger.exception("sealer batch failed, retrying from stored positions")
            await self.settle()
            await self._retry_later(list(records))
            return
        if not await self.settle():
            self._sealer.assigned(list(records))  # prepared on top of a batch that did not commit
            return
        self._committing = Committing(
            prepared, asyncio.create_task(self._commit(prepared)), started
        )

    async def _commit(self, prepared: Prepared) -> None:
        staged = await self.batch.commit(prepared, self._producer)
        if staged:
            self._sealer.relay.known.remember(staged)
            self._sealer.relay.wake.set()
        if self._sealer.config.delete_sealed_inbox_records:
            await self._sealer.janitor.delete_sealed(self.batch.positions)

    async def settle(self) -> bool:
        """Wait for the batch being committed; False if it failed (its partitions and
        every prepared batch's are read again from the stored positions)."""
        committing, self._committing = self._committing, None
        if committing is None:
            return True
        records = list(committing.prepared.records)
        try:
            await committing.task
        except PositionMoved as moved:
            logger.warning("sealer fenced, re-seeking", extra={"detail": str(moved)})
            self.batch.forget_planned()
            self._sealer.assigned(records)
            return False
        except Exception:
            # Nothing of this batch was committed: retry it from the stored positions.
            logger.exception("sealer batch failed, retrying from stored positions")
            await self._retry_later(records)
            return False
        logger.info(
            "sealer batch",
            extra={
                "records": sum(len(batch) for batch in committing.prepared.records.values()),
                "elapsed_ms": round((time.perf_counter() - committing.started) * 1e3, 1),
                **committing.prepared.laps,
                **self.batch.stats.snapshot(),
            },
        )
        return True

    async def _retry_later(self, partitions: list[TopicPartition]) -> None:
        self.batch.forget_planned()
        await asyncio.sleep(1.0)
        self._sealer.assigned(partitions)

    def cancel(self) -> None:
        """Stop waiting for the batch being committed (the worker stops)."""
        if self._committing is not None:
            self._committing.task.cancel()
