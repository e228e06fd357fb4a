"""A newly registered agency joins the sealer without pausing the others (issue 14, item 8).

The sealer runs on the real embedded broker and Postgres while agency A
sends an event every 20 ms; agency B is registered mid-stream and sends its
first event at once.  ``haven_core.sealed_events.sealed_at`` (the sealing
transaction's time, on the same clock as this test) tells when each event
was sealed.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from events.topics import log_topic
from infra.endpoints import Endpoints
from projectors.bootstrap import sealer_thread
from projectors.sealer.service import Sealer
from tests.integration.harness import SealerHarness, running_harness
from tests.integration.test_sealer import identified

pytestmark = pytest.mark.integration

_SEALED_AT = text(
    "SELECT event_id, sealed_at FROM haven_core.sealed_events WHERE source = :s ORDER BY sealed_at"
)


def _sealed_at(engine: Engine, agency: str) -> dict[str, datetime]:
    with engine.connect() as conn:
        rows = conn.execute(_SEALED_AT, {"s": f"urn:haven:agency:{agency}"}).all()
    return {row[0]: row[1] for row in rows}


def _wait_sealed(engine: Engine, agency: str, event_id: str, timeout_s: float) -> datetime:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _sealed_at(engine, agency).get(event_id)
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{agency}'s event was not sealed within {timeout_s}s")


def _traffic(harness: SealerHarness, stop: threading.Event, sent: list[str]) -> None:
    while not stop.wait(0.02):
        event = identified()
        harness.send("gr_ngo", event)
        sent.append(event["id"])


def test_a_new_agency_is_sealed_at_once_and_the_others_keep_flowing(
    harness: SealerHarness, engine: Engine
) -> None:
    stop, sent = threading.Event(), list[str]()
    flow = threading.Thread(target=_traffic, args=(harness, stop, sent), daemon=True)
    flow.start()
    try:
        _wait_sealed(engine, "gr_ngo", _first(sent), timeout_s=60)  # A flows
        time.sleep(1.0)
        harness.register("de_shelter", "shelter", "DE")
        registered = datetime.now(UTC)
        first = identified(agency="de_shelter", jurisdiction="DE")
        harness.send("de_shelter", first)
        b_sealed = _wait_sealed(engine, "de_shelter", first["id"], timeout_s=30)
        time.sleep(1.0)
    finally:
        stop.set()
        flow.join()
    latency = (b_sealed - registered).total_seconds()
    window = (registered - timedelta(seconds=1), b_sealed + timedelta(seconds=1))
    a_times = sorted(t for t in _sealed_at(engine, "gr_ngo").values())
    inside = [t for t in a_times if window[0] <= t <= window[1]]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(inside)]
    longest = max(gaps, default=float("inf"))
    print(f"new agency first event sealed {latency * 1e3:.0f} ms after registration;")
    print(f"longest gap in the other agency's sealing meanwhile {longest * 1e3:.0f} ms")
    assert latency <= 2.0, f"first event of the new agency sealed after {latency:.2f}s"
    assert len(inside) >= 10, "the other agency's events stopped being sealed"
    assert longest <= 1.0, f"the other agency's sealing paused for {longest:.2f}s"


def _first_copy() -> Callable[[dict[str, Any]], bool]:
    """Keeps the first log record of each event id (each sealer's relay may send a copy)."""
    seen: set[str] = set()

    def keep(record: dict[str, Any]) -> bool:
        event_id = record["json"]["id"]
        if record["json"]["source"] == "urn:haven:system" or event_id in seen:
            return False
        seen.add(event_id)
        return True

    return keep


def _first(sent: list[str]) -> str:
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    return sent[0]


def test_two_sealers_on_the_same_inboxes_seal_each_event_once_in_order(
    harness: SealerHarness, engine: Engine
) -> None:
    """Without a group both sealers read every inbox partition; the fenced positions
    let exactly one of them seal each record, and a subject's events keep their order."""
    assert harness.sealer is not None
    second = sealer_thread(engine, harness.keyring, harness.sealer.config)
    try:
        subjects = [str(uuid.uuid4()) for _ in range(12)]
        sent = [identified(subject=subjects[n % len(subjects)]) for n in range(240)]
        for event in sent:
            harness.send("gr_ngo", event)
        records = harness.read(log_topic(harness.prefix), len(sent), 60, keep=_first_copy())
    finally:
        second.stop()
    assert isinstance(second.service, Sealer)
    sealers = (harness.sealer, second.service)
    assert sum(s.batch.stats.counts["sealed"] for s in sealers) == len(sent)
    first_seen: dict[str, list[str]] = {s: [] for s in subjects}
    for record in records:
        first_seen[record["json"]["subject"]].append(record["json"]["id"])
    expected: dict[str, list[str]] = {s: [] for s in subjects}
    for event in sent:
        expected[event["subject"]].append(event["id"])
    assert first_seen == expected


def test_a_sealer_started_before_any_agency_reads_the_first_inbox(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> None:
    """With nothing to read at start the sealer still looks for inboxes (an empty
    assignment must not park its loop), seals the first agency's event and sends
    its unreadable record to the DLQ."""
    with running_harness(infra.bootstrap_servers, topic_prefix, engine, master_key) as empty:
        time.sleep(1.0)  # the sealer is polling with no inbox at all
        empty.register("gr_ngo", "ngo", "GR")
        empty.send_raw("gr_ngo", b"{not json")
        event = identified()
        empty.send("gr_ngo", event)
        _wait_sealed(engine, "gr_ngo", event["id"], timeout_s=30)
        [dead] = empty.dlq(1)
    assert dead["json"]["reason"] == "invalid_json"
