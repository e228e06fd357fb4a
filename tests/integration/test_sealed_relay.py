"""The relay reads the pending rows once a batch, and misses no row committed meanwhile
(real broker and Postgres)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from events.kafka_security import aiokafka_kwargs
from infra.endpoints import Endpoints
from projectors.outbox.sealed_store import OutboxStore, Pending
from projectors.sealer.relay import SealedRelay
from tests.integration.kafka_kit import fresh_topic
from tests.integration.outbox_kit import stage_records

pytestmark = pytest.mark.integration


class _CountedStore(OutboxStore):
    """Counts the reads of pending rows; ``during`` runs inside the first one."""

    def __init__(self, engine: Engine, during: Callable[[], None] | None = None) -> None:
        super().__init__(engine)
        self.reads = 0
        self._during = during

    def pending(self, limit: int, known: Any = None) -> list[Pending]:
        rows = super().pending(limit, known)
        self.reads += 1
        if self.reads == 1 and self._during is not None:
            self._during()
        return rows


def _stage(engine: Engine, *ids: str) -> None:
    stage_records(engine, "relay-test", ids)  # as the sealer: it wakes its relay itself


async def _relaying(
    bootstrap: str, topic: str, relay: SealedRelay, until: Callable[[], Awaitable[None]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **aiokafka_kwargs())
    await producer.start()
    task = asyncio.create_task(relay.run(producer))
    try:
        await until()
    finally:
        relay.stop()
        await task
        await producer.stop()


async def _until(check: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "not relayed in time"
        await asyncio.sleep(0.02)


def test_a_batch_is_one_read_of_the_pending_rows(
    infra: Endpoints, topic_prefix: str, engine: Engine
) -> None:
    store = _CountedStore(engine)
    topic = fresh_topic(infra.bootstrap_servers, topic_prefix, "relay", 1)
    relay = SealedRelay(store, topic, idle_s=3.0)
    first = [f"a{n}" for n in range(5)]
    _stage(engine, *first)

    async def until() -> None:
        await _until(lambda: relay.relayed == 5, 10.0)
        await asyncio.sleep(0.3)  # idle: nothing more to read
        assert store.reads == 1  # not a read and an empty one
        _stage(engine, "b0", "b1")
        relay.wake.set()  # as the sealer's pipeline after its commit
        await _until(lambda: relay.relayed == 7, 10.0)
        await asyncio.sleep(0.3)
        assert store.reads == 2

    asyncio.run(_relaying(infra.bootstrap_servers, topic, relay, until))


def test_a_row_committed_while_a_batch_is_relayed_is_relayed_without_waiting(
    infra: Endpoints, topic_prefix: str, engine: Engine
) -> None:
    relay: SealedRelay
    loop: asyncio.AbstractEventLoop

    def commit_meanwhile() -> None:  # after the first read, before its batch is produced
        _stage(engine, "late")
        loop.call_soon_threadsafe(relay.wake.set)  # the read runs in a thread

    store = _CountedStore(engine, during=commit_meanwhile)
    topic = fresh_topic(infra.bootstrap_servers, topic_prefix, "relay", 1)
    relay = SealedRelay(store, topic, idle_s=3.0)
    _stage(engine, "early")

    async def until() -> None:
        nonlocal loop
        loop = asyncio.get_running_loop()
        # Within half the 3 s idle poll: the wake set during the batch was kept.
        await _until(lambda: relay.relayed == 2, 1.5)

    asyncio.run(_relaying(infra.bootstrap_servers, topic, relay, until))
    assert store.reads >= 2
