"""End-to-end figures on a ``haven worker`` subprocess: inbox to read models, and
how long a withdrawal takes from the inbox to the last in-scope row gone."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from rich.progress import Progress
from sqlalchemy import Engine, text

from events.kafka_security import kafka_python_kwargs
from events.publisher import CONTENT_TYPE_HEADER
from events.topics import inbox_topic
from services.bench.cpu_split import cpu_us_per_event, snapshot
from services.bench.stats import LedgerEvents, percentile_ms, rate, wait_for_count
from services.bench.worker_proc import Worker
from services.bench.workload import Record
from services.scenarios.builders import cloudevent

_RECEIPT = text("SELECT count(*) FROM haven_core.erasure_receipts WHERE withdrawal_event_id = :w")


def drain(
    engine: Engine, worker: Worker, total: int, progress: Progress, *, spaced: bool = False
) -> dict[str, Any]:
    """Wait until the engine has judged ``total`` agency events; time it from the launch
    (``spaced``: see :func:`services.bench.stats.wait_for_count`).  The CPU each kind of
    process spent per event from now on (the worker is ready: its start-up is left out,
    and so are the events judged before now)."""

    def alive() -> None:
        if worker.process.poll() is not None:
            raise RuntimeError(f"haven worker exited with {worker.process.returncode}")

    judged = LedgerEvents(engine)
    before, judged_before = snapshot(worker.process.pid), judged()
    drained = wait_for_count(judged, total, progress, "sealing + projecting", alive, spaced=spaced)
    after = snapshot(worker.process.pid)
    elapsed = drained.finished - worker.started
    steady = drained.steady_rate(total)
    return {
        "end_to_end_events_per_s": rate(total, elapsed),
        "end_to_end_steady_events_per_s": steady,
        "pipeline_events_per_s": rate(total, elapsed),
        "pipeline_drain_s": round(elapsed, 2),
        "drain_cpu_us_per_event": cpu_us_per_event(before, after, total - judged_before),
    }


def _withdrawal(event: dict[str, Any]) -> dict[str, Any]:
    return cloudevent(
        agency=event["agency"],
        jurisdiction=event["jurisdiction"],
        event_type="haven.consent.withdrawn.v1",
        subject=event["subject"],
        time=datetime.now(UTC),
        data={"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
        event_id=str(uuid.uuid4()),
    )


def erasure_latencies(
    engine: Engine, bootstrap: str, prefix: str, records: list[Record], count: int
) -> dict[str, Any]:
    """Withdraw one granted subject at a time on the idle pipeline; time to the receipt.

    The receipt is written in the transaction that erases the subject's
    consent-based rows, so it marks the moment the last in-scope row is gone.
    """
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=0, **kafka_python_kwargs()
    )
    latencies = []
    granted = [json.loads(r.value) for r in records if b"consent.granted" in r.value]
    with engine.connect() as conn:
        for event in granted[:count]:
            withdrawal = _withdrawal(event)
            started = time.perf_counter()
            producer.send(
                inbox_topic(prefix, event["agency"]),
                key=event["subject"].encode(),
                value=json.dumps(withdrawal).encode(),
                headers=[CONTENT_TYPE_HEADER],
            ).get(timeout=10)
            while not conn.execute(_RECEIPT, {"w": withdrawal["id"]}).scalar():
                conn.rollback()  # a fresh snapshot for the next look
                time.sleep(0.002)
            latencies.append(time.perf_counter() - started)
    producer.close()
    return {
        "erasure_p50_ms": percentile_ms(latencies, 0.5),
        "erasure_p99_ms": percentile_ms(latencies, 0.99),
        "withdrawal_p50_ms": percentile_ms(latencies, 0.5),
        "withdrawal_p99_ms": percentile_ms(latencies, 0.99),
        "withdrawals_measured": len(latencies),
    }
