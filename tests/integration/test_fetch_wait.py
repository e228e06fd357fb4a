"""The next fetch carries the wait the last poll chose (real broker).

aiokafka builds each fetch request from its fetcher's settings when it sends
it; the sealer and the engine set the wait right after each poll, before
their loop awaits anything (projectors/runtime/fetch_wait.py).  This checks,
on the requests the consumer really sends, that the fetch after a poll with
records asks for the busy wait and the fetch after an empty poll for the
quiet one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.protocol.fetch import FetchRequest

from infra.endpoints import Endpoints
from projectors.sealer.config import SealerConfig, kafka_clients
from tests.integration.kafka_kit import fresh_topic, produce_each

pytestmark = pytest.mark.integration

RECORDS = 30
#: Per poll: how many fetches were sent before it returned, and the wait it chose.
Polls = list[tuple[int, int]]


async def _polls_and_requests(bootstrap: str, topic: str) -> tuple[Polls, list[int]]:
    """Per poll, how many fetches were sent before it returned and the wait it chose;
    the wait of every fetch sent."""
    config = SealerConfig(bootstrap)
    consumer, _ = kafka_clients(config)
    await consumer.start()
    sent: list[int] = []
    client = consumer._client
    send = client.send

    async def recording(node_id: int, request: Any, **kwargs: Any) -> Any:
        if isinstance(request, FetchRequest):
            sent.append(request._max_wait_ms)
        return await send(node_id, request, **kwargs)

    client.send = recording  # type: ignore[method-assign]
    polls: Polls = []
    read = empty = 0
    try:
        consumer.assign([TopicPartition(topic, 0)])
        for _ in range(200):
            got = await consumer.getmany(timeout_ms=300, max_records=7)
            mark = len(sent)
            chosen = config.fetch_wait.after(consumer, bool(got), "test")
            assert chosen is not None
            polls.append((mark, chosen))
            read += sum(map(len, got.values()))
            empty = 0 if got else empty + 1
            if read == RECORDS and empty >= 3:
                break
    finally:
        await consumer.stop()
    return polls, sent


def test_a_fetch_after_records_waits_long_and_after_nothing_short(
    infra: Endpoints, topic_prefix: str
) -> None:
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "wait", 1)
    asyncio.run(produce_each(bootstrap, topic, ((0, f"{n}".encode()) for n in range(RECORDS))))
    polls, sent = asyncio.run(_polls_and_requests(bootstrap, topic))
    wait = SealerConfig(bootstrap).fetch_wait
    chosen = {c for _, c in polls}
    assert chosen == {wait.busy_ms, wait.quiet_ms}, polls  # records came, then nothing
    checked = 0
    for mark, expected in polls:
        if mark < len(sent):  # the first fetch sent after this poll returned
            assert sent[mark] == expected, (mark, polls, sent)
            checked += 1
    assert checked >= 3, (polls, sent)
