"""Publish-to-visible latency at a fixed offered rate (events paced into the inboxes).

A paced producer sends each event at ``start + i / rate`` and notes when it
handed it to the client; a poller notes when the event's audit-ledger entry
becomes visible.  The engine writes the ledger entry, the read-model rows
and its position in one transaction, so the entry is visible exactly when
the event's rows are.  The poller reads the entries past the last offset it
saw of each partition every ``poll_s``, in one statement, and looks for
partitions it does not know yet in ``audit_heads`` every half second.
Afterwards each event's time is split by stage
(:mod:`services.bench.visible_stages`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from rich.progress import Progress
from sqlalchemy import Connection, Engine, text

from events.kafka_security import aiokafka_kwargs
from events.publisher import CONTENT_TYPE_HEADER
from events.topics import inbox_topic, log_topic
from services.bench.stats import percentile_ms, rate
from services.bench.visible_stages import logged_times, sealed_times, stage_figures
from services.bench.workload import Record

_HEADS = text("SELECT partition, next_offset FROM haven_core.audit_heads WHERE topic = :t")
#: Every ledger entry past the offsets seen, of every partition, in one statement (the
#: primary key's order): one query per poll, not one per partition with new entries.
_NEW = (
    "SELECT l.partition, l.log_offset, l.event_id"
    " FROM unnest(%(p)s::int[], %(o)s::bigint[]) AS s(p, o)"
    " JOIN haven_core.audit_ledger AS l"
    " ON l.topic = %(t)s AND l.partition = s.p AND l.log_offset >= s.o"
)


@dataclass
class _Poller:
    """Notes the first time each ledger entry is seen, in a daemon thread.

    A partition's entries commit in log order (one batch at a time, under its
    lock), so what is past the last offset seen is all that can be new.
    """

    engine: Engine
    topic: str
    poll_s: float = 0.005
    seen: dict[str, float] = field(default_factory=dict)
    #: The log offset of each partition the polling began at.
    starts: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _heads(self, conn: Connection) -> dict[int, int]:
        return {int(p): int(n) for p, n in conn.execute(_HEADS, {"t": self.topic})}

    def _run(self, positions: dict[int, int]) -> None:
        # One connection for the whole run, each statement committed on its own: a pool
        # checkout per poll cost a ping's round trip 200 times a second, on the cores and
        # the Postgres the pipeline being measured needs.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Planned once (psycopg prepares it from its sixth run): Postgres otherwise
            # planned it for each poll's arrays, 0.1 ms of the cores being measured.
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            polls = 0
            while not self._stop.wait(self.poll_s):
                polls += 1
                if polls % 100 == 0:  # a partition's first entries (none in a warm bench)
                    for partition in self._heads(conn):
                        positions.setdefault(partition, 0)
                if positions:
                    self._poll(conn, positions)

    def _poll(self, conn: Connection, positions: dict[int, int]) -> None:
        params = {"t": self.topic, "p": list(positions), "o": list(positions.values())}
        rows = conn.exec_driver_sql(_NEW, params).all()
        now = time.perf_counter()
        for partition, offset, event_id in rows:
            self.seen[event_id] = now
            positions[partition] = max(positions[partition], offset + 1)

    def start(self) -> _Poller:
        """Poll from the current heads on (kept in ``starts``)."""
        with self.engine.connect() as conn:
            heads = self._heads(conn)
        self.starts = dict(heads)
        threading.Thread(target=self._run, args=(heads,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()


async def _paced(bootstrap: str, prefix: str, records: list[Record], per_s: float) -> list[float]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=0, **aiokafka_kwargs()
    )
    await producer.start()
    sent: list[float] = []
    try:
        start = time.perf_counter()
        futures = []
        for n, record in enumerate(records):
            delay = start + n / per_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(time.perf_counter())
            topic = inbox_topic(prefix, record.agency)
            futures.append(
                await producer.send(
                    topic, value=record.value, key=record.key, headers=[CONTENT_TYPE_HEADER]
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


def measure_visible(
    engine: Engine,
    bootstrap: str,
    prefix: str,
    records: list[Record],
    per_s: float,
    progress: Progress,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Offer ``records`` at ``per_s`` events/s; per-event publish-to-visible latency."""
    envelopes = [json.loads(r.value) for r in records]
    ids = [envelope["id"] for envelope in envelopes]
    poller = _Poller(engine, log_topic(prefix)).start()
    task = progress.add_task(f"visible at {per_s:g}/s", total=len(ids))
    try:
        wall = time.time() - time.perf_counter()  # perf_counter to wall-clock seconds
        sent = asyncio.run(_paced(bootstrap, prefix, records, per_s))
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            visible = sum(1 for i in ids if i in poller.seen)
            progress.update(task, completed=visible)
            if visible == len(ids):
                break
            time.sleep(0.1)
    finally:
        poller.stop()
    latencies = [poller.seen[i] - at for i, at in zip(ids, sent, strict=True) if i in poller.seen]
    stages = stage_figures(
        {i: at + wall for i, at in zip(ids, sent, strict=True)},
        sealed_times(engine, [(envelope["source"], envelope["id"]) for envelope in envelopes]),
        logged_times(bootstrap, log_topic(prefix), poller.starts, set(ids)),
        {i: at + wall for i, at in poller.seen.items()},
    )
    return {
        "visible_events": len(ids),
        "visible_offered_events_per_s": per_s,
        "visible_achieved_send_per_s": rate(len(sent) - 1, sent[-1] - sent[0]),
        "visible_p50_ms": percentile_ms(latencies, 0.5),
        "visible_p99_ms": percentile_ms(latencies, 0.99),
        "visible_max_ms": percentile_ms(latencies, 1.0),
        "visible_not_seen": len(ids) - len(latencies),
        "visible_stages_ms": stages,
    }
