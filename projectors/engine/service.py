"""The engine's consumer loop over ``haven.log.v1``: per partition, in order, fenced.

Like the sealer, it uses aiokafka inside the Faust worker (docs/engine.md
explains why not a Faust agent).  It joins the consumer group, or, as one
of several shares of the log (in one engine process or several), takes a
fixed share of the partitions (``EngineConfig.share``).  On assignment a partition is paused until
its position is read from Postgres; what one poll fetched is applied by
:class:`EngineCore` in a thread, the batches of all its partitions in one
transaction (or, when that fails, each in its own, which parks a poison
event with its subject and commits the rest).  A batch that still
fails (a lost connection) stops its partition (paused, logged, counted) and
is retried from the stored position after ``retry_s``; nothing is ever
acknowledged past it.
On stop it drains: once ``upstream`` (the sealer and its relay) finished, it
applies until a poll brings nothing more, bounded by ``drain_s``; it begins
no batch that the longest recent one says would end past that bound
(:class:`~projectors.runtime.drain.Drain`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from events.kafka_security import aiokafka_kwargs
from events.limits import MAX_MESSAGE_BYTES
from events.topics import log_topic
from infra.settings import (
    DOZE_AFTER_S,
    DOZE_FETCH_WAIT_MS,
    ENGINE_BATCH_MAX,
    LOADED_FETCH_RECORDS,
)
from projectors.engine.core import EngineCore, Outcome
from projectors.engine.log_partitions import share_partitions
from projectors.engine.share import Share
from projectors.log import LogRecord, PositionMoved
from projectors.runtime.drain import Drain
from projectors.runtime.fetch_budget import FetchBudget, fit_fetches
from projectors.runtime.fetch_wait import FetchWait
from projectors.runtime.listener import FencedPartitionListener

logger = logging.getLogger("haven.engine")

#: What one engine's consumer may hold of its log partitions together: 8 MiB, a
#: few seconds of the engine's work (docs/architecture.md, "fetch budgets").
LOG_FETCH_BUDGET = 8 * 1024 * 1024
#: The most one fetch answer may bring of all the engine's log partitions together
#: (aiokafka's default is 50 MiB): on the embedded broker this, not the per-partition
#: limit, bounds an answer's first partition (projectors/runtime/fetch_budget.py).
LOG_ANSWER_BYTES = 2 * 1024 * 1024


@dataclass
class EngineConfig:
    """How the engine consumes the log."""

    bootstrap_servers: str
    topic_prefix: str = "haven"
    group_id: str = "haven-engine"
    batch_max: int = ENGINE_BATCH_MAX
    poll_timeout_ms: int = 200
    #: How long the broker may hold a fetch that finds nothing new (the embedded
    #: broker waits the whole time even when a record arrives): bounds what the
    #: quiet log adds to an event's latency; a burst still comes in large batches.
    fetch_max_wait_ms: int = 10
    #: The wait after a poll that brought records: a busy log's fetches come back
    #: with more records each, fewer batches (projectors/runtime/fetch_wait.py).
    busy_fetch_wait_ms: int = 40
    #: A poll of this many records makes the next fetches gather for the busy wait.
    loaded_fetch_records: int = LOADED_FETCH_RECORDS
    #: After this many seconds of empty polls the quiet wait grows to the next (0: never).
    doze_after_s: float = DOZE_AFTER_S
    doze_fetch_wait_ms: int = DOZE_FETCH_WAIT_MS
    #: What the consumer may hold of all its log partitions together, shared among
    #: them (at most 4 MiB and at least 16 KiB of each: projectors/runtime/fetch_budget.py).
    fetch_budget_bytes: int = LOG_FETCH_BUDGET
    #: The most one fetch answer may bring (aiokafka's ``fetch_max_bytes``).
    fetch_answer_bytes: int = LOG_ANSWER_BYTES
    session_timeout_ms: int = 6000
    retry_s: float = 5.0
    #: On stop, apply what the log still holds for at most this long.
    drain_s: float = 20.0
    extra_consumer: dict[str, object] = field(default_factory=dict)
    #: When set, these partitions are assigned by hand and no consumer group is
    #: joined; or, with ``share``, that share of the log's partitions (one engine
    #: process of several, :mod:`projectors.engine.share`), once the broker names
    #: at least ``log_partitions``.
    partitions: tuple[int, ...] | None = None
    share: Share | None = None
    log_partitions: int = 1

    @property
    def fetch_wait(self) -> FetchWait:
        """The next fetch's wait, quiet or busy (a new one: each consumer keeps its own)."""
        return FetchWait(
            self.fetch_max_wait_ms,
            self.busy_fetch_wait_ms,
            loaded_records=self.loaded_fetch_records,
            doze_after_s=self.doze_after_s,
            doze_ms=self.doze_fetch_wait_ms,
        )

    @property
    def fetch_budget(self) -> FetchBudget:
        """The log fetch budget: at most one log message's bytes of a partition at a time."""
        return FetchBudget(self.fetch_budget_bytes, MAX_MESSAGE_BYTES, self.fetch_answer_bytes)


class EngineService:
    """Runs the projection loop until stopped."""

    def __init__(
        self, config: EngineConfig, core: EngineCore, upstream: asyncio.Event | None = None
    ) -> None:
        self.config = config
        self._fetch_wait = config.fetch_wait  # one per consumer: it warns once
        self._upstream = upstream
        self.core = core
        self.topic = log_topic(config.topic_prefix)
        self.positions: dict[int, int | None] = {}
        self.stopped: dict[int, float] = {}
        self.applied = 0
        self.ready = asyncio.Event()
        self._pending: set[TopicPartition] = set()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer

    def hold(self, partitions: list[TopicPartition]) -> None:
        """Pause partitions until their stored positions are loaded; fit the fetches and
        their waits to the whole assignment (as the sealer does)."""
        self._consumer.pause(*partitions)
        self._pending.update(partitions)
        assigned = len(self._consumer.assignment())
        fit_fetches(self._consumer, assigned, self.config.fetch_budget, "engine")
        self._fetch_wait.fit(assigned)

    async def _resume_pending(self) -> None:
        now = time.monotonic()
        for partition, since in list(self.stopped.items()):
            if now - since >= self.config.retry_s:
                del self.stopped[partition]
                self._pending.add(TopicPartition(self.topic, partition))
        pending = [tp for tp in self._pending if tp in self._consumer.assignment()]
        self._pending.clear()
        if not pending:
            return
        try:
            stored = await asyncio.to_thread(
                self.core.positions, self.topic, [tp.partition for tp in pending]
            )
        except Exception:
            logger.exception("loading engine positions failed; partitions stay paused")
            self._pending.update(pending)
            return
        for tp in pending:
            self.positions[tp.partition] = stored.get(tp.partition)
            self._consumer.seek(tp, stored.get(tp.partition, 0))
        self._consumer.resume(*pending)
        logger.info("engine partitions resumed", extra={"partitions": len(pending)})

    @property
    def _grouped(self) -> bool:
        return self.config.partitions is None and self.config.share is None

    async def run(self) -> None:
        """Consume and apply until :meth:`stop`."""
        budget = self.config.fetch_budget
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap_servers,
            group_id=self.config.group_id if self._grouped else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.config.fetch_max_wait_ms,
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=max(self.config.session_timeout_ms // 3, 100),
            max_partition_fetch_bytes=budget.most,  # refit on every hold
            fetch_max_bytes=budget.answer,
            **aiokafka_kwargs(),
            **self.config.extra_consumer,
        )
        partitions = self.config.partitions
        if self.config.share is not None:
            partitions = await share_partitions(
                self.config.bootstrap_servers,
                self.topic,
                self.config.share,
                self.config.log_partitions,
            )
            if not partitions:
                logger.warning(
                    "engine share has no partitions: this process stays idle",
                    extra={"share": str(self.config.share)},
                )
        await self._consumer.start()
        if partitions is None:
            self._consumer.subscribe([self.topic], listener=FencedPartitionListener(self.hold))
        else:
            share = [TopicPartition(self.topic, p) for p in partitions]
            self._consumer.assign(share)
            self.hold(share)
            logger.info("engine partitions assigned", extra={"partitions": len(share)})
        self.ready.set()
        try:
            await self._loop()
        finally:
            await self._consumer.stop()

    async def _loop(self) -> None:
        drain = Drain(self.config.drain_s)
        quiet = 0
        while True:
            if self._stopping.is_set():
                drain.start()
            await self._resume_pending()
            batches = await self._consumer.getmany(
                timeout_ms=self.config.poll_timeout_ms, max_records=self.config.batch_max
            )
            self._fetch_wait.after(self._consumer, sum(map(len, batches.values())), "engine")
            if batches:
                with drain.batch():
                    await self._process(batches)
            if not drain.started:
                continue
            upstream_done = self._upstream is None or self._upstream.is_set()
            quiet = quiet + 1 if upstream_done and not batches and not self._pending else 0
            if quiet >= 2:
                return  # stopping, nothing upstream, and the log brought nothing twice
            if drain.over():
                logger.warning("engine stopped before the log was drained")
                return

    async def _process(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply what one poll brought: the batches of all its partitions in one
        transaction (``EngineCore.apply_together``), each judged on its own."""
        batches: dict[int, tuple[TopicPartition, int | None, list[LogRecord]]] = {}
        for tp, records in fetched.items():
            if tp.partition in self.stopped or tp in self._pending:
                continue  # fetched before the pause: re-read from the stored position later
            expected = self.positions.get(tp.partition)
            batch = [
                LogRecord(r.offset, r.value or b"") for r in records if r.offset >= (expected or 0)
            ]
            if batch:
                batches[tp.partition] = (tp, expected, batch)
        if not batches:
            return
        outcomes = await asyncio.to_thread(
            self.core.apply_together,
            self.topic,
            [(partition, expected, batch) for partition, (_, expected, batch) in batches.items()],
        )
        for partition, (tp, _, batch) in batches.items():
            self._judge(tp, batch, outcomes[partition], len(batches))

    def _judge(
        self, tp: TopicPartition, batch: list[LogRecord], outcome: Outcome, together: int
    ) -> None:
        if isinstance(outcome, PositionMoved):
            logger.warning("engine fenced, re-seeking", extra={"detail": str(outcome)})
            self.hold([tp])
            return
        if isinstance(outcome, Exception):
            self._stop_partition(tp, batch, outcome)
            return
        self.positions[tp.partition] = outcome.next_offset
        self.applied += outcome.counts["applied"]
        logger.info(
            "engine batch",
            extra={
                "partition": tp.partition,
                "records": len(batch),
                "together": together,
                "elapsed_ms": outcome.elapsed_ms,
                **dict(outcome.counts),
            },
        )

    def _stop_partition(self, tp: TopicPartition, batch: list[LogRecord], error: Exception) -> None:
        self._consumer.pause(tp)
        self.stopped[tp.partition] = time.monotonic()
        logger.error(
            "engine partition stopped: batch failed and was rolled back",
            exc_info=error,
            extra={
                "partition": tp.partition,
                "first_offset": batch[0].offset,
                "last_offset": batch[-1].offset,
                "error": type(error).__name__,
                "stopped_partitions": sorted(self.stopped),
            },
        )

    def stop(self) -> None:
        """Drain, then finish."""
        self._stopping.set()
