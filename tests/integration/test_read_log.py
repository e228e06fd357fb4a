"""``read_log`` reads the whole log back from a real broker, and with ``at_least`` it
does not stop at a quiet spell before the offsets the caller knows are there."""

from __future__ import annotations

import asyncio

from infra.endpoints import Endpoints
from projectors.audit.archive import read_log
from tests.integration.kafka_kit import fresh_topic, produce_each


def test_at_least_reads_on_past_a_quiet_spell(infra: Endpoints, topic_prefix: str) -> None:
    bootstrap = infra.bootstrap_servers
    topic = fresh_topic(bootstrap, topic_prefix, "log", 2)
    values = [(i % 2, f"record {i}".encode()) for i in range(10)]
    asyncio.run(produce_each(bootstrap, topic, values))

    # No quiet spell allowed at all: only what the caller knows keeps the read going.
    read = read_log(bootstrap, topic, idle_s=0.0, at_least={0: 5, 1: 3})
    assert [r.value for r in read[0]] == [v for p, v in values if p == 0]
    assert [r.offset for r in read[1]][:3] == [0, 1, 2]
    assert read_log(bootstrap, topic, idle_s=0.0) == {0: [], 1: []}

    whole = read_log(bootstrap, topic)
    assert {p: [r.value for r in rs] for p, rs in whole.items()} == {
        p: [v for q, v in values if q == p] for p in (0, 1)
    }
