"""Partition lookups: an engine share's come from the broker, never from a short answer."""

from __future__ import annotations

import asyncio

import pytest

from events.topics import log_topic, notices_topic
from infra.endpoints import Endpoints
from infra.topics import core_topics, ensure_topics, notices_topic_spec, topic_partitions
from projectors.engine.log_partitions import share_partitions
from projectors.engine.share import Share

pytestmark = pytest.mark.integration


def test_a_share_names_its_partitions_of_the_log(infra: Endpoints, topic_prefix: str) -> None:
    bootstrap = infra.bootstrap_servers
    ensure_topics(bootstrap, core_topics(topic_prefix, 6))
    topic = log_topic(topic_prefix)
    assert asyncio.run(share_partitions(bootstrap, topic, Share(1, 2), 6)) == (1, 3, 5)
    assert asyncio.run(share_partitions(bootstrap, topic, Share(2, 4), 6)) == (2,)


def test_fewer_partitions_than_the_log_was_made_with_fail(
    infra: Endpoints, topic_prefix: str
) -> None:
    bootstrap = infra.bootstrap_servers
    ensure_topics(bootstrap, core_topics(topic_prefix, 2))
    with pytest.raises(RuntimeError, match="names 2 partitions of the log, expected 3"):
        asyncio.run(share_partitions(bootstrap, log_topic(topic_prefix), Share(0, 2), 3, 1.0))


def test_the_bounded_lookup_names_each_topics_partitions(
    infra: Endpoints, topic_prefix: str
) -> None:
    bootstrap = infra.bootstrap_servers
    ensure_topics(
        bootstrap, [*core_topics(topic_prefix, 3), notices_topic_spec(topic_prefix, "a1")]
    )
    log, notices = log_topic(topic_prefix), notices_topic(topic_prefix, "a1")
    assert topic_partitions(bootstrap, [log, notices]) == {log: [0, 1, 2], notices: [0]}
