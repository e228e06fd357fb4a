"""The sealer's settings and its Kafka clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events.limits import MAX_EVENT_BYTES, MAX_MESSAGE_BYTES


@dataclass
class SealerConfig:
    """How the sealer connects and batches."""

    bootstrap_servers: str
    topic_prefix: str = "haven"
    group_id: str = "haven-sealer"
    batch_max: int = 2000
    poll_timeout_ms: int = 200
    metadata_max_age_ms: int = 1000
    session_timeout_ms: int = 6000
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
    extra_consumer: dict[str, object] = field(default_factory=dict)


def kafka_clients(config: SealerConfig) -> tuple[AIOKafkaConsumer, AIOKafkaProducer]:
    """The sealer's consumer and producer; call inside the running event loop."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        group_id=config.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=config.metadata_max_age_ms,
        session_timeout_ms=config.session_timeout_ms,
        heartbeat_interval_ms=max(config.session_timeout_ms // 3, 100),
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        **config.extra_consumer,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        acks="all",
        enable_idempotence=config.idempotent_producer,
        max_request_size=MAX_MESSAGE_BYTES,
        max_batch_size=MAX_EVENT_BYTES,
        linger_ms=5,
    )
    return consumer, producer
