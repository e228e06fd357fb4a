"""The demo scenario: register agencies, seal a survivor's case, dead-letter bad input,
crypto-shred her personal data, and show each step as tables."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from rich.console import Console
from rich.progress import track
from sqlalchemy import Engine

from events.topics import dlq_topic, inbox_topic, log_topic
from infra.endpoints import Endpoints
from projectors.keyring import Keyring
from projectors.registration import register_agency
from projectors.sealer import SealerConfig
from projectors.sealer_store import SealerStore
from projectors.sealer_thread import SealerThread
from services.demo import story
from services.demo.views import dlq_table, log_table, opened_table, read_topic
from services.scenarios.ctdc import load_cases

PERSONAL = [*story.SURVIVOR.values(), story.RESPONDENT["name"]]


def run_demo(
    console: Console,
    endpoints: Endpoints,
    engine: Engine,
    master_key: bytes,
    prefix: str,
    background_events: int,
) -> None:
    """Run the scenario against live infrastructure (raises on any failed expectation)."""
    bootstrap = endpoints.bootstrap_servers
    for agency_id, kind, country, name in story.AGENCIES:
        register_agency(
            engine,
            bootstrap,
            topic_prefix=prefix,
            partitions=3,
            agency_id=agency_id,
            agency_type=kind,
            jurisdiction=country,
            name=name,
        )
    console.print(f"registered {len(story.AGENCIES)} agencies (tokens hashed, inboxes created)")
    keyring = Keyring(engine, master_key, cache_ttl_s=0)
    config = SealerConfig(
        bootstrap_servers=bootstrap, topic_prefix=prefix, group_id=f"{prefix}-sealer"
    )
    sealer = SealerThread(config, SealerStore(engine), keyring).start()
    try:
        _scenario(console, bootstrap, prefix, keyring, background_events, SealerStore(engine))
    finally:
        sealer.stop()


def _send(producer: KafkaProducer, prefix: str, agency: str, raw: bytes, key: bytes | None) -> None:
    producer.send(inbox_topic(prefix, agency), value=raw, key=key)


def _wait_sealed(store: SealerStore, event: dict[str, Any], timeout_s: float = 30.0) -> None:
    """Steps of a case happen one after another: wait until this one is in the log."""
    ref = (event["source"], event["id"])
    deadline = time.monotonic() + timeout_s
    while ref not in store.already_sealed([ref]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {event['id']} was not sealed within {timeout_s}s")
        time.sleep(0.05)


def _scenario(
    console: Console, bootstrap: str, prefix: str, keyring: Keyring, extra: int, store: SealerStore
) -> None:
    subject = str(uuid.uuid4())
    steps = story.survivor_story(load_cases(limit=1)[0], subject, datetime(2026, 10, 1, tzinfo=UTC))
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    started = time.perf_counter()
    for step in steps:
        console.print(f"  [cyan]{step.agency:>10}[/cyan]  {step.caption}")
        _send(producer, prefix, step.agency, json.dumps(step.event).encode(), subject.encode())
        producer.flush()
        _wait_sealed(store, step.event)
    bad = story.bad_inputs()
    for agency, raw, _reason in bad:
        _send(producer, prefix, agency, raw, None)
    cases = load_cases(limit=extra)
    for agency, raw in track(
        story.background(cases),
        total=len(cases),
        description="CTDC background traffic",
        console=console,
    ):
        _send(producer, prefix, agency, raw, None)
    producer.flush()
    producer.close()
    total = len(steps) + len(cases) + 2  # + agency.registered system events
    log = read_topic(bootstrap, log_topic(prefix), len(steps) + len(cases))
    elapsed = time.perf_counter() - started
    console.print(
        f"sealed {len(log)} log records (incl. system events) in {elapsed:.1f}s; sent {total}"
    )
    console.print(log_table(log, subject, PERSONAL))
    console.print(dlq_table(read_topic(bootstrap, dlq_topic(prefix), len(bad)), PERSONAL))
    console.print(
        opened_table(
            log,
            subject,
            keyring.key,
            "opened with the keyring (in production only the API does this)",
        )
    )
    _erase(console, log, subject, keyring)


def _erase(console: Console, log: list[Any], subject: str, keyring: Keyring) -> None:
    destroyed = keyring.destroy(keyring.subject_kids_up_to(subject, 0))
    console.print(f"erasure: destroyed key epochs {destroyed}; the log itself is unchanged")
    console.print(opened_table(log, subject, keyring.key, "after crypto-shredding"))
