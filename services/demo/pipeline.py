"""The real pipeline, in-process: registration, then sealer, engine and scheduler threads.

The same loops ``haven worker`` runs, each on its own event loop in a thread
(:class:`LoopThread`), with the erasure hold at 0 so the demo shows keys
being destroyed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Engine, text

from events.kafka_security import kafka_python_kwargs
from events.publisher import CONTENT_TYPE_HEADER
from events.topics import inbox_topic
from infra.endpoints import Endpoints
from projectors.bootstrap import pipeline_threads
from projectors.directory.registration import register_agency
from projectors.runtime.loop_thread import LoopThread
from services.audit.replay import live_positions
from services.demo.cast import Agency

PARTITIONS = 3
#: The demo's topics are the default ones, on its own fresh broker.
PREFIX = "haven"


class DemoFailed(RuntimeError):
    """The pipeline did not do what the story expects."""


class DemoPipeline:
    """Registered agencies and running sealer, engine and scheduler threads."""

    def __init__(
        self, endpoints: Endpoints, engine: Engine, master_key: bytes, prefix: str = PREFIX
    ) -> None:
        self.bootstrap, self.engine, self.prefix = endpoints.bootstrap_servers, engine, prefix
        self.master_key = master_key
        self.threads: list[LoopThread] = []
        self._producer: KafkaProducer | None = None

    def register(self, agencies: list[Agency]) -> None:
        """Register every agency: inbox topic, schema, role, hashed token, system event."""
        for agency in agencies:
            register_agency(
                self.engine,
                self.bootstrap,
                topic_prefix=self.prefix,
                partitions=PARTITIONS,
                agency_id=agency.id,
                agency_type=agency.type,
                jurisdiction=agency.country,
                name=agency.name,
            )

    def start(self) -> None:
        """Start the sealer, the engine (erasure hold 0) and the scheduler."""
        # The embedded broker cannot delete records: inbox retention does it instead.
        self.threads = pipeline_threads(
            self.engine,
            self.bootstrap,
            self.prefix,
            self.master_key,
            scheduler_tick_s=0.2,
            delete_sealed_inbox_records=False,
        )
        self._producer = KafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, **kafka_python_kwargs()
        )

    def send(self, agency: str, event: dict[str, Any]) -> None:
        """Produce an event to the agency's inbox, keyed by its subject."""
        self.send_raw(agency, json.dumps(event).encode(), str(event["subject"]).encode())

    def send_raw(self, agency: str, raw: bytes, key: bytes | None) -> None:
        """Produce raw bytes to the agency's inbox (bad input included)."""
        assert self._producer is not None, "start() first"
        self._producer.send(
            inbox_topic(self.prefix, agency), value=raw, key=key, headers=[CONTENT_TYPE_HEADER]
        )

    def flush(self) -> None:
        """Wait until the broker has every sent record."""
        assert self._producer is not None, "start() first"
        self._producer.flush(timeout=30)

    def _scalar(self, sql: str, **params: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar() or 0)

    def wait(self, done: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
        """Poll ``done`` until it holds; fail loudly on a dead thread or a timeout."""
        deadline = time.monotonic() + timeout_s
        while not done():
            for thread in self.threads:
                if thread.error is not None:
                    raise DemoFailed(f"{what}: a pipeline thread failed: {thread.error!r}")
            if time.monotonic() > deadline:
                raise DemoFailed(f"{what}: not done within {timeout_s:.0f} s")
            time.sleep(0.05)

    def wait_applied(self, event_ids: Collection[str], what: str) -> None:
        """Wait until the engine applied (or refused) every listed event."""
        sql = (
            "SELECT count(DISTINCT event_id) FROM haven_core.applied_events"
            " WHERE event_id = ANY(:i)"
        )
        ids = list(event_ids)
        self.wait(lambda: self._scalar(sql, i=ids) >= len(ids), what)

    def wait_relayed(self) -> None:
        """Wait until the scheduler relayed every system event and notice."""
        pending = (
            "SELECT (SELECT count(*) FROM haven_core.system_outbox WHERE relayed_at IS NULL)"
            " + (SELECT count(*) FROM haven_core.notice_outbox WHERE relayed_at IS NULL)"
        )
        self.wait(lambda: self._scalar(pending) == 0, "relaying notices and system events")

    def wait_projected(self, topic: str, ends: dict[int, int]) -> None:
        """Wait until the engine's positions reach ``ends`` (next offset per partition)."""

        def caught_up() -> bool:
            stored = live_positions(self.engine, topic)
            return all(stored.get(p, 0) >= end for p, end in ends.items())

        self.wait(caught_up, "projecting the whole log")

    def refusals(self, event_ids: Collection[str]) -> dict[str, str]:
        """The engine's refusal reason of each listed event that was refused."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT event_id, reason FROM haven_core.refusals WHERE event_id = ANY(:i)"),
                {"i": list(event_ids)},
            )
            return {row[0]: row[1] for row in rows}

    def stop(self) -> None:
        """Stop the producer and every thread (idempotent)."""
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None
        for thread in reversed(self.threads):
            thread.stop()
        self.threads = []
