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
from projectors.engine_batch import EngineSettings
from projectors.engine_core import EngineCore
from projectors.engine_service import EngineConfig, EngineService
from projectors.keyring import Keyring
from projectors.loop_thread import LoopThread
from projectors.policy_loader import default_policy_path, load_policy
from projectors.registration import register_agency
from projectors.registry import default_registry
from projectors.scheduler import Scheduler
from projectors.sealer import Sealer, SealerConfig
from projectors.sealer_store import SealerStore
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
        keyring = Keyring(engine, key)
        core = EngineCore(
            engine,
            default_registry(),
            load_policy(default_policy_path()),
            EngineSettings(erasure_hold_s=0.0),
            keyring,
        )
        self.threads = [
            LoopThread(
                lambda: Sealer(
                    SealerConfig(self.bootstrap, prefix, f"{prefix}-s"),
                    SealerStore(engine),
                    keyring,
                ),
                "sealer",
            ).start(),
            LoopThread(
                lambda: EngineService(EngineConfig(self.bootstrap, prefix, f"{prefix}-e"), core),
                "engine",
            ).start(),
            LoopThread(
                lambda: Scheduler(engine, self.bootstrap, prefix, keyring, 0.2), "scheduler"
            ).start(),
        ]
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
