"""A running pipeline for tests: registered agencies, sealer, engine and scheduler threads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Engine, text

from events.topics import inbox_topic
from infra.endpoints import Endpoints
from projectors.bootstrap import pipeline_threads
from projectors.directory.registration import register_agency
from projectors.readmodels.sdk import ProjectorRegistry
from services.scenarios.builders import cloudevent

AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("gr_police", "police", "GR"),
]


class Pipeline:
    """Registered agencies and a running sealer, engine and scheduler."""

    def __init__(
        self,
        endpoints: Endpoints,
        engine: Engine,
        key: bytes,
        prefix: str,
        agencies: list[tuple[str, str, str]] = AGENCIES,
        registry: ProjectorRegistry | None = None,
    ) -> None:
        self.bootstrap, self.engine, self.prefix = endpoints.bootstrap_servers, engine, prefix
        self.tokens: dict[str, str] = {}
        for agency_id, kind, country in agencies:
            self.tokens[agency_id] = register_agency(
                engine,
                self.bootstrap,
                topic_prefix=prefix,
                partitions=2,
                agency_id=agency_id,
                agency_type=kind,
                jurisdiction=country,
            ).token.token
        self.threads = pipeline_threads(
            engine, self.bootstrap, prefix, key, scheduler_tick_s=0.2, registry=registry
        )
        self.producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")

    def send(
        self,
        agency: str,
        event_type: str,
        subject: str,
        data: dict[str, Any],
        jurisdiction: str = "GR",
    ) -> str:
        event = cloudevent(
            agency=agency,
            jurisdiction=jurisdiction,
            event_type=event_type,
            subject=subject,
            time=datetime.now(UTC),
            data=data,
        )
        self.producer.send(
            inbox_topic(self.prefix, agency), key=subject.encode(), value=json.dumps(event).encode()
        ).get(timeout=10)
        return str(event["id"])

    def rows(self, agency: str, table: str, subject: str) -> list[Any]:
        with self.engine.connect() as conn:
            query = text(f'SELECT * FROM "agency_{agency}"."{table}" WHERE subject_id = :s')
            return list(conn.execute(query, {"s": subject}))

    def close(self) -> None:
        self.producer.close()
        for thread in self.threads:
            thread.stop()


def eventually(check: Callable[[], bool], timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
