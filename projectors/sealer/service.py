"""The sealer: every agency inbox in, the canonical sealed log (or the DLQ) out.

It assigns itself every inbox partition by hand (aiokafka, no consumer group:
projectors/sealer/inboxes.py), so an agency registered while it runs is
consumed from its first record within a directory poll, without a restart
and without pausing the other inboxes for a group rebalance.  Positions
live in Postgres, never in Kafka's committed offsets; a batch's sealed
records commit into the sealed outbox with its positions and (source, id)
marks, the relay produces them into the log at least once, and the engine
drops the rare duplicate by (source, id) again downstream.  Bad input never stops it:
it goes to the DLQ with a reason.  Each batch is prepared while the previous
one commits (projectors/sealer/pipeline.py).  Database calls run in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from events.topics import dlq_topic, log_topic
from projectors.keys.keyring import Keyring
from projectors.outbox.sealed_store import OutboxStore
from projectors.runtime.drain import Drain
from projectors.runtime.fetch_budget import fit_fetches
from projectors.sealer.batch import BatchSealer
from projectors.sealer.config import SealerConfig, kafka_clients
from projectors.sealer.inboxes import InboxWatch
from projectors.sealer.janitor import InboxJanitor
from projectors.sealer.pipeline import Pipeline
from projectors.sealer.relay import SealedRelay
from projectors.sealer.store import SealerStore

logger = logging.getLogger("haven.sealer")


class Sealer:
    """Runs the sealing loop until stopped."""

    def __init__(self, config: SealerConfig, store: SealerStore, keyring: Keyring) -> None:
        self.config = config
        self._fetch_wait = config.fetch_wait  # one per consumer: it warns once
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
        self._pipeline: Pipeline

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
        await self._pipeline.settle()  # its positions are stored before they are read
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
        self._pipeline = Pipeline(self, self._producer)
        await self._consumer.start()
        await self._refresh_inboxes()
        self.ready.set()
        relay = asyncio.create_task(self.relay.run(self._producer))
        try:
            await self._loop()
            await self._pipeline.settle()
            self.relay.stop()
            await relay
        finally:
            self._pipeline.cancel()
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
        await self._pipeline.settle()
        # A new assignment forgets every fetch position: all reload from Postgres.
        self._consumer.assign(list(partitions))
        limit = fit_fetches(self._consumer, len(partitions), self.config.fetch_budget, "sealer")
        self._fetch_wait.fit(len(partitions))
        self._pending.clear()
        self.assigned(list(partitions))
        logger.info(
            "sealer inboxes assigned",
            extra={
                "partitions": len(partitions),
                "partition_fetch_bytes": limit,
                "fetch_wait_ms": self._fetch_wait.wait_ms(busy=False),
                "busy_fetch_wait_ms": self._fetch_wait.wait_ms(busy=True),
                "dozing_fetch_wait_ms": self._fetch_wait.wait_ms(busy=False, dozing=True),
            },
        )

    async def _loop(self) -> None:
        drain = Drain(self.config.drain_s)
        while True:
            if self._stopping.is_set():
                drain.start()
            await self._sweep_dlq_keys()
            await self._refresh_inboxes()
            await self._resume_pending()
            records = await self._fetch()
            if records:
                with drain.batch():
                    await self._pipeline.process(records)
            else:
                await self._pipeline.settle()  # idle: finish the last batch (a failure re-seeks)
                if drain.started and not self._pending:
                    return  # stopping and the inboxes hold nothing more
            if drain.over():
                await self._pipeline.settle()
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
        self._fetch_wait.after(self._consumer, sum(map(len, fetched.values())), "sealer")
        return fetched

    def stop(self) -> None:
        """Ask the loop to drain and finish."""
        self._stopping.set()


__all__ = ["Sealer", "SealerConfig"]
