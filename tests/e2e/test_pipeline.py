"""Inbox to read models through the real broker: sealer, engine and scheduler together."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine, text

from events.topics import inbox_topic, notices_topic
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

pytestmark = pytest.mark.e2e

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
        for agency_id, kind, country in agencies:
            register_agency(
                engine,
                self.bootstrap,
                topic_prefix=prefix,
                partitions=2,
                agency_id=agency_id,
                agency_type=kind,
                jurisdiction=country,
            )
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


@pytest.fixture
def pipeline(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> Iterator[Pipeline]:
    running = Pipeline(infra, engine, master_key, topic_prefix)
    yield running
    running.close()


IDENTIFICATION = {
    "identified_at": "2026-11-01T10:00:00Z",
    "nationality": ["UA"],
    "exploitation_types": ["forced_labour"],
    "indicators": ["passport withheld"],
    "is_minor": False,
    "languages": ["uk"],
    "personal": {"full_name": "Test Person"},
}


def test_consent_expiry_and_withdrawal_flow_through_the_broker(pipeline: Pipeline) -> None:
    subject, other = str(uuid.uuid4()), str(uuid.uuid4())
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    for who, expiry in ((subject, expires), (other, None)):
        pipeline.send("gr_ngo", "haven.victim.identified.v1", who, IDENTIFICATION)
        grant = {
            "consent_id": f"c-{who[:8]}",
            "granted_at": datetime.now(UTC).isoformat(),
            "recipients": {"agency_types": ["coordinator", "police"]},
            "purposes": ["care", "protection"],
        }
        if expiry:
            grant["expires_at"] = expiry
        pipeline.send("gr_ngo", "haven.consent.granted.v1", who, grant)
        pipeline.send("gr_ngo", "haven.victim.identified.v1", who, IDENTIFICATION)
    eventually(lambda: bool(pipeline.rows("gr_coord", "subjects", other)))
    # The scheduler emits consent.expired when the grant's time passes: rows go.
    eventually(lambda: not pipeline.rows("gr_coord", "subjects", subject))
    assert pipeline.rows("gr_ngo", "subjects", subject), "the producer keeps its own rows"
    withdrawal = pipeline.send(
        "gr_ngo",
        "haven.consent.withdrawn.v1",
        other,
        {"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
    )
    eventually(lambda: not pipeline.rows("gr_police", "subjects", other))
    assert not pipeline.rows("gr_ngo", "subjects", other), "rule 1 rows go on `all` too"
    notices = KafkaConsumer(
        notices_topic(pipeline.prefix, "gr_police"),
        bootstrap_servers=pipeline.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
    )
    received = []
    for record in notices:
        received.append(json.loads(record.value))
        if any(n["withdrawal_event_id"] == withdrawal for n in received):
            break
    notices.close()
    notice = next(n for n in received if n["withdrawal_event_id"] == withdrawal)
    assert notice["subject"] == other
    assert notice["rows_erased"] > 0
    assert "Test Person" not in json.dumps(received)
