"""The next fetch carries the wait the last poll chose (real broker).

aiokafka builds each fetch request from its fetcher's settings when it sends
it; the sealer and the engine set the wait right after each poll, before
their loop awaits anything (projectors/runtime/fetch_wait.py).  This checks,
on the requests the consumer really sends, that the fetch after a poll with
records asks for the busy wait and the fetch after an empty poll for the
quiet one; that a loaded stage's fetches ask the broker to gather records and
that the broker holds such a fetch for the wait; and that the sealer tells its
waits how many records each poll brought.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.protocol.fetch import FetchRequest
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from projectors.runtime.fetch_wait import LOADED_MIN_BYTES, FetchWait
from projectors.sealer.config import SealerConfig, kafka_clients
from tests.integration.harness import SealerHarness, running_harness
from tests.integration.kafka_kit import fresh_topic, produce_each
from tests.integration.test_sealer import identified

pytestmark = pytest.mark.integration

RECORDS = 30
#: Per poll: how many fetches were sent before it returned, and the wait it chose.
Polls = list[tuple[int, int]]


def _recorded_fetches(consumer: AIOKafkaConsumer) -> list[FetchRequest]:
    """Every fetch request ``consumer`` sends from now on, as sent."""
    requests: list[FetchRequest] = []
    client = consumer._client
    send = client.send

    async def recording(node_id: int, request: Any, **kwargs: Any) -> Any:
        if isinstance(request, FetchRequest):
            requests.append(request)
        return await send(node_id, request, **kwargs)

    client.send = recording
    return requests


async def _polls_and_requests(bootstrap: str, topic: str) -> tuple[Polls, list[int]]:
    """Per poll, how many fetches were sent before it returned and the wait it chose;
    the wait of every fetch sent."""
    config = SealerConfig(bootstrap)
    consumer, _ = kafka_clients(config)
    await consumer.start()
    requests = _recorded_fetches(consumer)
    polls: Polls = []
    read = empty = 0
    try:
        consumer.assign([TopicPartition(topic, 0)])
        for _ in range(200):
            got = await consumer.getmany(timeout_ms=300, max_records=7)
            mark = len(requests)
            chosen = config.fetch_wait.after(consumer, bool(got), "test")
            assert chosen is not None
            polls.append((mark, chosen))
            read += sum(map(len, got.values()))
            empty = 0 if got else empty + 1
            if read == RECORDS and empty >= 3:
                break
    finally:
        await consumer.stop()
    return polls, [request._max_wait_ms for request in requests]


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
    # No dozing: on a slow host the two seconds sampled below may start late enough
    # for the idle sealer's quiet wait to grow to the doze wait (another test's subject).
    with running_harness(
        bootstrap,
        topic_prefix,
        engine,
        master_key,
        agency,
        wait_reference_partitions=1,
        doze_after_s=0.0,
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


async def _loaded_fetch(bootstrap: str, topic: str, busy_ms: int) -> tuple[int, int, float]:
    """Poll a partition holding many records (loaded), then produce one record: the
    next fetch's gathering (as sent), the records it brought and how long after the
    loaded poll it came back."""
    consumer, _ = kafka_clients(SealerConfig(bootstrap))
    await consumer.start()
    requests = _recorded_fetches(consumer)
    wait = FetchWait(quiet_ms=10, busy_ms=busy_ms, loaded_records=RECORDS)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        read = 0
        for _ in range(30):  # bounded: a broker that lost the records fails below
            got = await consumer.getmany(partition, timeout_ms=1000, max_records=RECORDS)
            read += len(got.get(partition, []))
            if read >= RECORDS:
                break
        wait.after(consumer, read, "test")  # one poll's worth: loaded
        polled = time.perf_counter()
        mark = len(requests)
        await produce_each(bootstrap, topic, [(0, b"one more")])
        brought: list[object] = []
        # A loaded machine may answer late: poll until the record comes (bounded).
        while not brought and time.perf_counter() - polled < 20 * busy_ms / 1e3:
            brought = (await consumer.getmany(partition, timeout_ms=3 * busy_ms)).get(partition, [])
        came = time.perf_counter() - polled
    finally:
        await consumer.stop()
    return requests[mark]._min_bytes, len(brought), came


def test_a_loaded_fetch_asks_the_broker_to_gather_and_is_held_for_the_busy_wait(
    infra: Endpoints, topic_prefix: str
) -> None:
    """Without the gathering the fetch would come back as soon as the record arrived
    (a few milliseconds): here it comes back with it after the busy wait."""
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "gather", 1)
    asyncio.run(produce_each(bootstrap, topic, ((0, f"{n}".encode()) for n in range(RECORDS))))
    busy_ms = 600
    asked, brought, came = asyncio.run(_loaded_fetch(bootstrap, topic, busy_ms))
    assert asked == LOADED_MIN_BYTES
    assert brought == 1
    assert came >= 0.6 * busy_ms / 1e3, came


def test_the_sealer_tells_its_waits_how_many_records_a_poll_brought(
    infra: Endpoints,
    engine: Engine,
    master_key: bytes,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Events already in the inbox when the sealer starts come in one poll of several
    records: that poll makes its next fetches gather."""
    seen: list[tuple[int, int]] = []
    note = FetchWait.note

    def recording(self: FetchWait, records: int, now: float) -> None:
        note(self, records, now)
        seen.append((records, self.min_bytes))

    monkeypatch.setattr(FetchWait, "note", recording)
    harness = SealerHarness(
        infra.bootstrap_servers,
        topic_prefix,
        engine,
        master_key,
        options={"loaded_fetch_records": 4},
    )
    harness.register("gr_ngo", "ngo", "GR")
    for _ in range(12):
        harness.send("gr_ngo", identified(subject=str(uuid.uuid4())))
    harness.start()
    try:
        assert len(harness.log(12, timeout_s=60)) == 12
    finally:
        harness.stop()
    assert sum(records for records, _ in seen) == 12, seen
    assert (max(r for r, _ in seen), LOADED_MIN_BYTES) in seen, seen
