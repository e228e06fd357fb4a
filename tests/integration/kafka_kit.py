"""Topics and records for tests that drive a Kafka client directly (real broker)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from kafka.admin import NewTopic

from events.kafka_security import aiokafka_kwargs
from infra.topics import ensure_topics


def fresh_topic(bootstrap: str, topic_prefix: str, kind: str, partitions: int) -> str:
    """A new topic of ``partitions`` partitions, named apart from every other test's."""
    topic = f"{topic_prefix}.{kind}.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [NewTopic(topic, partitions, 1)])
    return topic


async def produce_each(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[int, bytes]],
    max_request_size: int = 1_048_576,  # aiokafka's default
) -> None:
    """Produce ``(partition, value)`` records one at a time, each acknowledged (one record
    batch each), in order."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_request_size=max_request_size,
        **aiokafka_kwargs(),
    )
    await producer.start()
    try:
        for partition, value in records:
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()
