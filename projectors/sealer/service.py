"""The sealer: every agency inbox in, the canonical sealed log (or the DLQ) out.

It assigns itself every inbox partition by hand (aiokafka, no consumer group:
projectors/sealer/inboxes.py), so an agency registered while it runs is
consumed from its first record within a directory poll, without a restart
and without pausing the other inboxes for a group rebalance.  Positions
live in Postgres, never in Kafka's committed offsets; a batch's log records
are acknowledged by the broker before its positions and (source, id) marks
commit, so delivery into the log is at least once, and the engine drops the
rare duplicate by (source, id) again downstream.  Bad input never stops it:
it goes to the DLQ with a reason.  Database calls run in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from events.topics import dlq_topic, log_topic
from projectors.keys.keyring import Keyring
from projectors.log import PositionMoved
from projectors.outbox.sealed_store import OutboxStore
from projectors.sealer.batch import BatchSealer, Prepared
from projectors.sealer.config import SealerConfig, kafka_clients
from projectors.sealer.inboxes import InboxWatch
from projectors.sealer.janitor import InboxJanitor
from projectors.sealer.relay import SealedRelay
from projectors.sealer.store import SealerStore

logger = logging.getLogger("haven.sealer")


@dataclass(frozen=True)
class Committing:
    """The batch whose commit runs while the next one is prepared."""

    prepared: Prepared
    task: asyncio.Task[None]
    started: float


class Sealer:
    """Runs the sealing loop until stopped."""

    def __init__(self, config: SealerConfig, store: SealerStore, keyring: Keyring) -> None:
        self.config = config
        self._store = store
        self._keyring = keyring
        self._last_sweep = -1e9
        self.batch = BatchSealer(
            store,
            keyring,
            log_topic(config.topic_prefix),
            dlq_topic(config.topic_prefix),
            config.topic_prefix,
        )
        self.relay = SealedRelay(OutboxStore(store.engine), log_topic(config.topic_prefix))
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()
        #: Set once the loop and the relay finished (the engine drains after it).
        self.done = asyncio.Event()
        self._consumer: AIOKafkaConsumer
        self._producer: AIOKafkaProducer
        self.janitor: InboxJanitor
        self._inboxes: InboxWatch
        self._pending: set[TopicPartition] = set()
        self._committing: Committing | None = None

    async def _sweep_dlq_keys(self) -> None:
        """Destroy expired DLQ keys, at most once per sweep interval."""
        if time.monotonic() - self._last_sweep < self.config.dlq_sweep_interval_s:
            return
        self._last_sweep = time.monotonic()
        try:
            destroyed = await asyncio.to_thread(
                self._keyring.destroy_expired_dlq_keys,
                datetime.now(UTC).date(),
                self.config.dlq_retention_days,
            )
        except Exception:
            logger.exception("DLQ key sweep failed; retrying at the next interval")
            return
        if destroyed:
            logger.info("expired DLQ keys destroyed", extra={"keys": destroyed})

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Hold new partitions until their stored positions are loaded."""
        self._consumer.pause(*partitions)
        self._pending.update(partitions)

    async def _resume_pending(self) -> None:
        if not self._pending:
            return
        await self._settle()  # its positions are stored before they are read
        pending = [tp for tp in self._pending if tp in self._consumer.assignment()]
        self._pending.clear()
        if not pending:
            return
        try:
            await self.resume(pending)
        except Exception:
            logger.exception("loading sealer positions failed; partitions stay paused")
            self._pending.update(pending)
            await asyncio.sleep(1.0)
            return
        self._consumer.resume(*pending)

    async def resume(self, partitions: list[TopicPartition]) -> None:
        """Seek assigned partitions to the positions stored in Postgres."""
        stored = await asyncio.to_thread(
            self._store.positions, [(tp.topic, tp.partition) for tp in partitions]
        )
        unread = []
        self.batch.forget_planned()
        for tp in partitions:
            position = stored.get((tp.topic, tp.partition))
            self.batch.positions[(tp.topic, tp.partition)] = position
            if position is None:
                unread.append(tp)
            else:
                self._consumer.seek(tp, position)
        if unread:
            await self._consumer.seek_to_beginning(*unread)
        logger.info("sealer partitions assigned", extra={"partitions": len(partitions)})

    async def run(self) -> None:
        """Consume, seal and produce until :meth:`stop`."""
        # aiokafka clients bind to the running loop: create them here, not earlier.
        self._consumer, self._producer = kafka_clients(self.config)
        self.janitor = InboxJanitor(self.config.bootstrap_servers)
        await self._producer.start()
        await self.janitor.start()
        self._inboxes = InboxWatch(
            self.janitor.admin,
            self.config.topic_prefix,
            self._store.registered_agencies,
            poll_s=self.config.directory_poll_s,
        )
        await self._consumer.start()
        await self._refresh_inboxes()
        self.ready.set()
        relay = asyncio.create_task(self.relay.run(self._producer))
        try:
            await self._loop()
            await self._settle()
            self.relay.stop()
            await relay
        finally:
            if self._committing is not None:
                self._committing.task.cancel()
            relay.cancel()
            await self._consumer.stop()
            await self.janitor.close()
            await self._producer.stop()
            self.done.set()

    async def _refresh_inboxes(self) -> None:
        """Assign every inbox partition the broker has, when that set changed."""
        try:
            partitions = await self._inboxes.changed()
        except Exception:
            logger.exception("looking for new inboxes failed; retrying at the next poll")
            return
        if partitions is None:
            return
        await self._settle()
        # A new assignment forgets every fetch position: all reload from Postgres.
        self._consumer.assign(list(partitions))
        self._pending.clear()
        self.assigned(list(partitions))
        logger.info("sealer inboxes assigned", extra={"partitions": len(partitions)})

    async def _loop(self) -> None:
        drain_until: float | None = None
        while True:
            if self._stopping.is_set() and drain_until is None:
                drain_until = time.monotonic() + self.config.drain_s
            await self._sweep_dlq_keys()
            await self._refresh_inboxes()
            await self._resume_pending()
            records = await self._fetch()
            if records:
                await self._process(records)
            else:
                await self._settle()  # idle: finish the last batch (a failure re-seeks)
                if drain_until is not None and not self._pending:
                    return  # stopping and the inboxes hold nothing more
            if drain_until is not None and time.monotonic() > drain_until:
                await self._settle()
                logger.warning("sealer stopped before its inboxes were drained")
                return

    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """What the assigned inboxes hold; nothing (after a poll's wait) while none is
        assigned, since aiokafka's ``getmany`` would wait for an assignment forever."""
        if not self._consumer.assignment():
            await asyncio.sleep(self.config.poll_timeout_ms / 1e3)
            return {}
        fetched: dict[TopicPartition, list[ConsumerRecord]] = await self._consumer.getmany(
            timeout_ms=self.config.poll_timeout_ms, max_records=self.config.batch_max
        )
        return fetched

    async def _process(self, records: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Prepare this batch while the previous one commits, then start its commit."""
        committing = self._committing.prepared.refs if self._committing else frozenset()
        started = time.perf_counter()
        try:
            prepared = await self.batch.prepare(records, committing)
        except Exception:
            logger.exception("sealer batch failed, retrying from stored positions")
            await self._settle()
            await self._retry_later(list(records))
            return
        if not await self._settle():
            self.assigned(list(records))  # prepared on top of a batch that did not commit
            return
        self._committing = Committing(
            prepared, asyncio.create_task(self._commit(prepared)), started
        )

    async def _commit(self, prepared: Prepared) -> None:
        staged = await self.batch.commit(prepared, self._producer)
        if staged:
            self.relay.known.remember(staged)
            self.relay.wake.set()
        if self.config.delete_sealed_inbox_records:
            await self.janitor.delete_sealed(self.batch.positions)

    async def _settle(self) -> bool:
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
            self.assigned(records)
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
        self.assigned(partitions)

    def stop(self) -> None:
        """Ask the loop to drain and finish."""
        self._stopping.set()


__all__ = ["Sealer", "SealerConfig"]
