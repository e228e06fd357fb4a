"""``read_until_quiet`` on a real broker: it reads a topic whole, stops as soon as the
caller is done (not after a quiet spell), and a read that must go on fails on time."""

from __future__ import annotations

import asyncio
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.endpoints import Endpoints
from infra.topics import read_until_quiet
from tests.integration.kafka_kit import fresh_topic, produce_each

pytestmark = pytest.mark.integration


def _consumer(bootstrap: str, topic: str) -> KafkaConsumer:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
    consumer.seek_to_beginning()
    return consumer


def test_reads_whole_stops_when_done_and_times_out(infra: Endpoints, topic_prefix: str) -> None:
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "quiet", 2)
    values = [(i % 2, f"record {i}".encode()) for i in range(10)]
    asyncio.run(produce_each(bootstrap, topic, values))

    consumer = _consumer(bootstrap, topic)
    try:
        read = sorted(r.value for r in read_until_quiet(consumer, idle_s=1.0))
        assert read == sorted(v for _, v in values)
    finally:
        consumer.close()

    consumer = _consumer(bootstrap, topic)
    found: list[bytes] = []
    started = time.monotonic()
    try:
        for record in read_until_quiet(consumer, idle_s=60.0, done=lambda: len(found) >= 3):
            found.append(record.value)
    finally:
        consumer.close()
    assert len(found) >= 3
    assert time.monotonic() - started < 30  # done, not a minute's quiet spell

    consumer = _consumer(bootstrap, topic)
    try:
        with pytest.raises(TimeoutError, match=topic):
            for _ in read_until_quiet(consumer, idle_s=0.0, timeout_s=1.0, waiting=lambda: True):
                pass
    finally:
        consumer.close()
