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
import time
import uuid
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.protocol.fetch import FetchRequest
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from projectors.sealer.config import SealerConfig, kafka_clients
from tests.integration.harness import running_harness
from tests.integration.kafka_kit import fresh_topic, produce_each
from tests.integration.test_sealer import identified

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


def test_the_sealer_stretches_both_waits_for_the_inboxes_it_reads(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> None:
    """Every fetch names every inbox partition: past the waits' reference the sealer
    asks the broker to hold its fetches longer, in proportion (here three partitions
    against a reference of one: three times as long)."""
    config = SealerConfig(infra.bootstrap_servers)
    stretched = {3 * config.fetch_max_wait_ms, 3 * config.busy_fetch_wait_ms}
    agency = ("gr_ngo", "ngo", "GR")  # three inbox partitions
    bootstrap = infra.bootstrap_servers
    with running_harness(
        bootstrap, topic_prefix, engine, master_key, agency, wait_reference_partitions=1
    ) as harness:
        sealer = harness.sealer
        assert sealer is not None
        harness.send("gr_ngo", identified(subject=str(uuid.uuid4())))
        assert len(harness.log(1, timeout_s=60)) == 1
        fetcher = sealer._consumer._fetcher  # the wait lives only there
        seen: set[int] = set()
        for _ in range(40):  # the sealer polls at least every 200 ms, idle now
            seen.add(fetcher._fetch_max_wait_ms)
            time.sleep(0.05)
    assert 3 * config.fetch_max_wait_ms in seen, seen  # idle: the quiet wait, stretched
    assert seen <= stretched, seen
