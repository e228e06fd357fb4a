"""Creating Haven's topics (idempotent), with the settings of docs/architecture.md "Topics",
and reading topics whole.

Inbox topics keep raw personal data, so they get a short retention; the log
keeps everything; the DLQ keeps its (sealed) records for its retention.
A broker that ignores some topic configs (the embedded one keeps memory
only) still gets the partition counts right.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import NoError, TopicAlreadyExistsError, for_code

from events.kafka_security import kafka_python_kwargs
from events.limits import MAX_MESSAGE_BYTES
from events.topics import dlq_topic, inbox_topic, log_topic, notices_topic

logger = logging.getLogger("haven.topics")

DAY_MS = 24 * 3600 * 1000
INBOX_RETENTION_MS = DAY_MS
DLQ_RETENTION_MS = 7 * DAY_MS


def _new_topic(name: str, partitions: int, retention_ms: int) -> NewTopic:
    return NewTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=1,
        topic_configs={
            "retention.ms": str(retention_ms),
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
        },
    )


def core_topics(prefix: str, partitions: int) -> list[NewTopic]:
    """The log and the DLQ."""
    return [
        _new_topic(log_topic(prefix), partitions, -1),
        _new_topic(dlq_topic(prefix), partitions, DLQ_RETENTION_MS),
    ]


def inbox_topic_spec(prefix: str, agency_id: str, partitions: int) -> NewTopic:
    """An agency's inbox."""
    return _new_topic(inbox_topic(prefix, agency_id), partitions, INBOX_RETENTION_MS)


def notices_topic_spec(prefix: str, agency_id: str, partitions: int = 1) -> NewTopic:
    """An agency's erasure notices (ids and counts only; kept for the DLQ retention)."""
    return _new_topic(notices_topic(prefix, agency_id), partitions, DLQ_RETENTION_MS)


def ensure_topics(bootstrap_servers: str, topics: Iterable[NewTopic]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created now."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id="haven-admin",
        **kafka_python_kwargs(),
    )
    try:
        existing = set(admin.list_topics())
        missing = [topic for topic in topics if topic.name not in existing]
        # One request for all of them (600 agencies' notice topics were 600 requests);
        # a topic another process made meanwhile is not an error.
        answer = admin.create_topics(missing, raise_errors=False) if missing else {"topics": []}
        created = []
        for topic in answer["topics"]:
            error = for_code(topic["error_code"])
            if error is NoError:
                created.append(topic["name"])
            elif error is not TopicAlreadyExistsError:
                raise error(f"creating topic {topic['name']}: {topic.get('error_message')}")
    finally:
        admin.close()
    if created:
        logger.info("topics created", extra={"topics": created})
    return created


def topic_partitions(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, list[int]]:
    """The partitions the broker names for each topic (empty for a topic it lacks).

    Asked with the admin client, whose every request is bounded by its
    request timeout; a consumer's ``partitions_for_topic`` waits for the
    metadata answer with no timeout at all, and a loaded broker can leave it
    waiting for good.
    """
    wanted = list(topics)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id="haven-admin",
        **kafka_python_kwargs(),
    )
    try:
        described = admin.describe_topics(wanted)
    finally:
        admin.close()
    found: dict[str, list[int]] = {topic: [] for topic in wanted}
    for topic in described:
        if topic["error_code"] == 0 and topic["name"] in found:
            found[topic["name"]] = sorted(p["partition_index"] for p in topic["partitions"])
    return found


def reading_consumer(bootstrap_servers: str) -> KafkaConsumer:
    """A consumer to assign and read topics with by hand (no group, nothing committed),
    taking records up to the largest the log holds."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        fetch_max_bytes=4 * MAX_MESSAGE_BYTES,
        **kafka_python_kwargs(),
    )


def _never() -> bool:
    return False


def read_until_quiet(
    consumer: KafkaConsumer,
    *,
    idle_s: float,
    timeout_s: float | None = None,
    waiting: Callable[[], bool] = _never,
    done: Callable[[], bool] = _never,
) -> Iterator[ConsumerRecord]:
    """The records ``consumer`` (assigned and positioned) polls, until none has come for
    ``idle_s`` and nothing is ``waiting``, or the caller is ``done`` (asked after each poll).

    The embedded broker's end offsets can lag the real positions, so reading up to
    them could stop short: a quiet topic is the sign it was read whole.
    ``waiting``: the caller knows of records not read yet (reading goes on however
    long a loaded broker is quiet meanwhile). ``timeout_s``: ``TimeoutError`` once
    reading has gone on that long.
    """
    started = quiet_since = time.monotonic()
    while not done() and (waiting() or time.monotonic() - quiet_since < idle_s):
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            topics = ", ".join(sorted({tp.topic for tp in consumer.assignment()}))
            raise TimeoutError(f"reading {topics} took longer than {timeout_s} s")
        batches = consumer.poll(timeout_ms=200)
        if batches:
            quiet_since = time.monotonic()
        for records in batches.values():
            yield from records
