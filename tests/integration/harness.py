"""Test harness: a real sealer in a background thread, raw Kafka clients around it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import Engine

from events.limits import MAX_MESSAGE_BYTES
from events.topics import dlq_topic, inbox_topic, log_topic
from projectors.bootstrap import sealer_thread
from projectors.directory.registration import register_agency
from projectors.keys.keyring import Keyring
from projectors.runtime.loop_thread import LoopThread
from projectors.sealer.service import Sealer, SealerConfig


@dataclass
class SealerHarness:
    """One test's sealer, broker clients and registered agencies."""

    bootstrap: str
    prefix: str
    engine: Engine
    master_key: bytes
    jurisdictions: dict[str, str] = field(default_factory=dict)
    _producer: KafkaProducer | None = None
    _runner: LoopThread | None = None
    sealer: Sealer | None = None
    #: More ``SealerConfig`` settings (a fetch budget, the waits' reference).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def keyring(self) -> Keyring:
        return Keyring(self.engine, self.master_key, cache_ttl_s=0)

    def register(self, agency_id: str, agency_type: str = "ngo", jurisdiction: str = "GR") -> str:
        registration = register_agency(
            self.engine,
            self.bootstrap,
            topic_prefix=self.prefix,
            partitions=3,
            agency_id=agency_id,
            agency_type=agency_type,
            jurisdiction=jurisdiction,
        )
        self.jurisdictions[agency_id] = jurisdiction
        return registration.token.token

    def start(self) -> None:
        config = SealerConfig(
            bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            **self.options,
        )
        self._runner = sealer_thread(self.engine, self.keyring, config)
        assert isinstance(self._runner.service, Sealer)
        self.sealer = self._runner.service

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        if self._producer is not None:
            self._producer.close()
            self._producer = None

    def send_raw(self, agency_id: str, value: bytes, key: bytes | None = None) -> None:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                max_request_size=MAX_MESSAGE_BYTES,
            )
        self._producer.send(inbox_topic(self.prefix, agency_id), value=value, key=key)
        self._producer.flush()

    def send(self, agency_id: str, event: dict[str, Any]) -> None:
        self.send_raw(agency_id, json.dumps(event).encode(), str(event.get("subject")).encode())

    def read(
        self,
        topic: str,
        count: int,
        timeout_s: float = 30.0,
        keep: Callable[[dict[str, Any]], bool] = lambda _r: True,
    ) -> list[dict[str, Any]]:
        """At least ``count`` kept records of ``topic`` (all partitions, from the start)."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for rec in records:
                    item = {
                        "partition": rec.partition,
                        "offset": rec.offset,
                        "key": rec.key,
                        "raw": rec.value,
                        "json": json.loads(rec.value),
                    }
                    if keep(item):
                        found.append(item)
        consumer.close()
        return found

    def log(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Agency events in the log (system events left out)."""
        return self.read(
            log_topic(self.prefix),
            count,
            timeout_s,
            keep=lambda r: r["json"]["source"] != "urn:haven:system",
        )

    def dlq(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        return self.read(dlq_topic(self.prefix), count, timeout_s)


@contextmanager
def running_harness(
    bootstrap: str,
    prefix: str,
    engine: Engine,
    master_key: bytes,
    *agencies: tuple[str, str, str],
    **options: Any,
) -> Iterator[SealerHarness]:
    """A started harness with ``agencies`` (id, type, jurisdiction) registered and
    ``options`` for its ``SealerConfig``; stopped after."""
    harness = SealerHarness(bootstrap, prefix, engine, master_key, options=options)
    for agency_id, agency_type, jurisdiction in agencies:
        harness.register(agency_id, agency_type, jurisdiction)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()
