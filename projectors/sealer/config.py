"""The sealer's settings and its Kafka clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events.kafka_security import aiokafka_kwargs
from events.limits import MAX_EVENT_BYTES, MAX_MESSAGE_BYTES
from infra.settings import (
    DOZE_AFTER_S,
    DOZE_FETCH_WAIT_MS,
    LOADED_FETCH_RECORDS,
    SEALER_BATCH_MAX,
)
from projectors.runtime.fetch_budget import FetchBudget
from projectors.runtime.fetch_wait import REFERENCE_PARTITIONS, FetchWait

#: The most one fetch may bring of one inbox partition.  An inbox event is at
#: most ``MAX_EVENT_BYTES``; a bigger record still comes, alone (a broker returns
#: the first record batch of a partition whatever its size), and goes to the DLQ.
INBOX_FETCH_BYTES = MAX_EVENT_BYTES
#: What the consumer may hold of all inbox partitions together, fetched and not
#: yet sealed, shared among the assigned partitions (projectors/runtime/fetch_budget.py):
#: up to 256 partitions (42 agencies) keep 1 MiB each, 3,600 (600 agencies) 73 KiB.
INBOX_FETCH_BUDGET = 256 * 1024 * 1024
#: The most one fetch answer may bring of all inbox partitions together.  The
#: embedded broker gives an answer's first partition the answer's whole budget
#: (capped at 5 MiB there), so this also bounds what one partition can hold: at
#: 5 MiB the sealer held 197 MB of fetches over a million preloaded events, at
#: 2 MiB 85 MB.  Draining a backlog, every inbox partition ends up holding one
#: answer's worth (36 x 2.2 MiB, 78 MB of Python's traced memory with six
#: agencies), so answers are 1 MiB: the sealer's peak 173-175 MB against 207
#: over 300,000 events, sealing as fast (docs/architecture.md).
INBOX_ANSWER_BYTES = MAX_EVENT_BYTES


@dataclass
class SealerConfig:
    """How the sealer connects and batches."""

    bootstrap_servers: str
    topic_prefix: str = "haven"
    batch_max: int = SEALER_BATCH_MAX
    poll_timeout_ms: int = 200
    #: How long the broker may hold a fetch that finds nothing new.  Kafka answers
    #: as soon as a record arrives, but the embedded broker waits the whole time,
    #: so this bounds what a quiet inbox adds to an event's latency; under load
    #: every fetch finds records at once and batches grow by themselves.  Each
    #: idle fetch names every inbox partition: beyond ten agencies' inboxes both
    #: waits stretch with them (projectors/runtime/fetch_wait.py).
    fetch_max_wait_ms: int = 25
    #: The wait after a poll that brought records: busy inboxes' fetches come back
    #: with more records each, fewer batches (projectors/runtime/fetch_wait.py).
    busy_fetch_wait_ms: int = 60
    #: Beyond this many inbox partitions both waits stretch with them.
    wait_reference_partitions: int = REFERENCE_PARTITIONS
    #: A poll of this many records makes the next fetches gather for the busy wait.
    loaded_fetch_records: int = LOADED_FETCH_RECORDS
    #: After this many seconds of empty polls the quiet wait grows to the next (0: never).
    doze_after_s: float = DOZE_AFTER_S
    doze_fetch_wait_ms: int = DOZE_FETCH_WAIT_MS
    #: How often the agency directory is asked whether an inbox is new.
    directory_poll_s: float = 0.2
    delete_sealed_inbox_records: bool = True
    #: aiokafka's idempotent producer fails on the embedded broker (InitProducerId
    #: answers UnknownError); order holds without it, since aiokafka keeps one
    #: in-flight batch per partition, and retried duplicates are dropped by
    #: (source, id) downstream.  Turn it on against Apache Kafka.
    idempotent_producer: bool = False
    #: DLQ keys older than this are destroyed (their records become unreadable).
    dlq_retention_days: int = 7
    dlq_sweep_interval_s: float = 3600.0
    #: On stop, seal what the inboxes still hold for at most this long.
    drain_s: float = 10.0
    #: What the consumer may hold of all inbox partitions together.
    fetch_budget_bytes: int = INBOX_FETCH_BUDGET
    extra_consumer: dict[str, object] = field(default_factory=dict)

    @property
    def fetch_wait(self) -> FetchWait:
        """The next fetch's wait, quiet or busy (a new one: each consumer keeps its own)."""
        return FetchWait(
            self.fetch_max_wait_ms,
            self.busy_fetch_wait_ms,
            reference_partitions=self.wait_reference_partitions,
            loaded_records=self.loaded_fetch_records,
            doze_after_s=self.doze_after_s,
            doze_ms=self.doze_fetch_wait_ms,
        )

    @property
    def fetch_budget(self) -> FetchBudget:
        """The inbox fetch budget: at most one event's bytes of a partition at a time."""
        return FetchBudget(self.fetch_budget_bytes, INBOX_FETCH_BYTES, INBOX_ANSWER_BYTES)


def kafka_clients(config: SealerConfig) -> tuple[AIOKafkaConsumer, AIOKafkaProducer]:
    """The sealer's consumer and producer; call inside the running event loop.

    The consumer has no group: the sealer assigns its partitions itself
    (projectors/sealer/inboxes.py) and keeps its positions in Postgres.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=config.fetch_max_wait_ms,
        max_partition_fetch_bytes=config.fetch_budget.most,  # refit on every assignment
        fetch_max_bytes=config.fetch_budget.answer,
        **aiokafka_kwargs(),
        **config.extra_consumer,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        acks="all",
        enable_idempotence=config.idempotent_producer,
        max_request_size=MAX_MESSAGE_BYTES,
        max_batch_size=MAX_EVENT_BYTES,
        linger_ms=5,
        **aiokafka_kwargs(),
    )
    return consumer, producer
