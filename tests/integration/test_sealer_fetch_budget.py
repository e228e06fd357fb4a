"""The sealer's fetches stay within one budget over all inbox partitions (real broker).

aiokafka holds one fetch of every partition with a backlog until the sealer
takes its records; the per-partition limit the sealer sets on each assignment
(projectors/runtime/fetch_budget.py) is what bounds the sum.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Engine

from events.kafka_security import aiokafka_kwargs
from infra.endpoints import Endpoints
from projectors.runtime.fetch_budget import FetchBudget, fit_fetches
from projectors.sealer.config import (
    INBOX_ANSWER_BYTES,
    INBOX_FETCH_BYTES,
    SealerConfig,
    kafka_clients,
)
from tests.integration.harness import running_harness
from tests.integration.kafka_kit import fresh_topic, produce_each
from tests.integration.test_sealer import identified

pytestmark = pytest.mark.integration

PARTITIONS, RECORDS, SMALL, LARGE = 8, 40, 1_000, 40_000
LEAST = FetchBudget(0, 0, 0).least
#: What a record batch adds to its value (headers, offsets, lengths), with room to spare.
BATCH_OVERHEAD = 200


def _records() -> list[tuple[int, bytes]]:
    """Per partition, one record a batch: small ones, one over the limit, small ones again."""
    return [
        (partition, f"{partition}:{n}:".encode().ljust(LARGE if n == RECORDS // 2 else SMALL, b"."))
        for n in range(RECORDS)
        for partition in range(PARTITIONS)
    ]


async def _first_fetch_and_all(
    bootstrap: str, topic: str, budget: int | None
) -> tuple[dict[int, int], dict[int, list[bytes]]]:
    """Bytes of each partition's first fetch, and everything read, in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=INBOX_FETCH_BYTES,
        **aiokafka_kwargs(),
    )
    await consumer.start()
    first: dict[int, int] = {}
    read: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        if budget is not None:
            fitted = fit_fetches(
                consumer,
                PARTITIONS,
                FetchBudget(budget, INBOX_FETCH_BYTES, INBOX_ANSWER_BYTES),
                "t",
            )
            assert fitted == budget // PARTITIONS
        for _ in range(200):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                first.setdefault(tp.partition, sum(len(r.value or b"") for r in records))
                read[tp.partition] += [r.value or b"" for r in records]
            if sum(map(len, read.values())) == PARTITIONS * RECORDS:
                break
    finally:
        await consumer.stop()
    return first, read


def test_fetches_keep_to_the_fitted_limit_and_still_bring_records_over_it(
    infra: Endpoints, topic_prefix: str
) -> None:
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "budget", PARTITIONS)
    records = _records()
    asyncio.run(produce_each(bootstrap, topic, records))
    sent = {p: [v for q, v in records if q == p] for p in range(PARTITIONS)}
    limit = LEAST
    first, read = asyncio.run(_first_fetch_and_all(bootstrap, topic, PARTITIONS * limit))
    assert read == sent  # all of it, the records over the limit included, in order
    assert len(first) == PARTITIONS
    # A fetch may pass the limit by one batch; the embedded broker also gives the first
    # partition of each answer the answer's whole budget (Apache Kafka does not).
    over = [size for size in first.values() if size > limit + SMALL + BATCH_OVERHEAD]
    assert len(over) <= 1, first
    # Unfitted, a first fetch takes a partition's whole backlog: the test can tell.
    unfitted, _ = asyncio.run(_first_fetch_and_all(bootstrap, topic, None))
    assert all(size == SMALL * (RECORDS - 1) + LARGE for size in unfitted.values()), unfitted


async def _first_answer(bootstrap: str, topic: str) -> dict[int, int]:
    """Bytes of each partition in the sealer's consumer's first fetch."""
    consumer, _ = kafka_clients(SealerConfig(bootstrap))
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        for _ in range(20):
            if got := await consumer.getmany(timeout_ms=500):
                return {tp.partition: sum(len(r.value or b"") for r in v) for tp, v in got.items()}
    finally:
        await consumer.stop()
    return {}


def test_one_answer_brings_at_most_the_answer_bound_even_of_one_partition(
    infra: Endpoints, topic_prefix: str
) -> None:
    """The embedded broker would give an answer's first partition up to 5 MiB."""
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "answer", 2)
    record = 30_000
    backlog = 2 * INBOX_ANSWER_BYTES  # a partition, in records of 30 kB
    asyncio.run(
        produce_each(bootstrap, topic, ((n % 2, b"x" * record) for n in range(backlog // record)))
    )
    first = asyncio.run(_first_answer(bootstrap, topic))
    assert first
    assert sum(first.values()) <= INBOX_ANSWER_BYTES + record + BATCH_OVERHEAD, first


def test_the_sealer_fits_its_fetches_to_its_inboxes_and_seals_in_order(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> None:
    budget = 3 * LEAST  # one agency: three inbox partitions
    agency = ("gr_ngo", "ngo", "GR")
    with running_harness(
        infra.bootstrap_servers, topic_prefix, engine, master_key, agency, fetch_budget_bytes=budget
    ) as harness:
        sealer = harness.sealer
        assert sealer is not None
        subject = str(uuid.uuid4())
        sent = [identified(subject=subject) for _ in range(60)]
        for event in sent:
            harness.send("gr_ngo", event)
        records = harness.log(60, timeout_s=60)
        assert [r["json"]["id"] for r in records] == [e["id"] for e in sent]
        assert len(sealer._consumer.assignment()) == 3
        fetcher = sealer._consumer._fetcher  # the limit lives only there
        assert fetcher._max_partition_fetch_bytes == LEAST
