"""An engine's fetch bounds never keep a log record from it (real broker).

The engine asks for at most ``LOG_ANSWER_BYTES`` an answer and its share of
the fetch budget a partition (projectors/engine/service.py); a sealed log
record may be up to ``MAX_MESSAGE_BYTES``, larger than both.  A broker must
still return a partition's first record batch whatever the bounds, or such a
record would stop its partition for good.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.kafka_security import aiokafka_kwargs
from events.limits import MAX_MESSAGE_BYTES
from infra.endpoints import Endpoints
from projectors.engine.service import LOG_ANSWER_BYTES, EngineConfig
from tests.integration.kafka_kit import fresh_topic, produce_each

pytestmark = pytest.mark.integration

#: Under the largest log message, over the answer's bound and any partition's limit.
BIG = MAX_MESSAGE_BYTES - 64 * 1024


async def _consume(bootstrap: str, topic: str, config: EngineConfig, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=config.fetch_budget.per_partition(3),
        fetch_max_bytes=config.fetch_budget.answer,
        **aiokafka_kwargs(),
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        values: list[bytes] = []
        for _ in range(40):
            got = await consumer.getmany(partition, timeout_ms=500)
            values.extend(record.value or b"" for record in got.get(partition, []))
            if len(values) >= count:
                break
        return values
    finally:
        await consumer.stop()


def test_a_log_record_larger_than_the_engines_bounds_still_comes(
    infra: Endpoints, topic_prefix: str
) -> None:
    config = EngineConfig(infra.bootstrap_servers, topic_prefix)
    assert max(LOG_ANSWER_BYTES, config.fetch_budget.per_partition(3)) < BIG
    topic = fresh_topic(infra.bootstrap_servers, topic_prefix, "enginebig", 1)
    sent = [b"small-1", bytes(range(256)) * (BIG // 256), b"small-2"]
    records = [(0, value) for value in sent]
    asyncio.run(produce_each(infra.bootstrap_servers, topic, records, MAX_MESSAGE_BYTES + 2**20))
    assert asyncio.run(_consume(infra.bootstrap_servers, topic, config, len(sent))) == sent
