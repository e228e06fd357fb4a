"""The floor ``haven bench`` compares with: a plain consumer of the same log.

An aiokafka consumer reads every partition of the sealed log from the
beginning, parses each record's JSON and COPYs one row per recipient agency
(the recipients the engine recorded in the audit ledger, loaded before the
clock starts) into one plain table, committing per fetched batch.  No
policy, no sealing, no consent ledger, no read-model upserts: what the
hardware, the broker and Postgres allow for the same rows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from rich.progress import Progress
from sqlalchemy import Engine, make_url, text

from events.limits import MAX_MESSAGE_BYTES
from events.topics import log_topic
from services.bench.stats import rate

_TABLE = """
CREATE TABLE IF NOT EXISTS bench_floor.rows (
    agency_id  text NOT NULL,
    event_id   text NOT NULL,
    subject_id text,
    event_type text NOT NULL,
    event_time timestamptz NOT NULL,
    data       jsonb
)"""
_COPY = "COPY bench_floor.rows (agency_id, event_id, subject_id, event_type, event_time, data)"
Recipients = dict[tuple[int, int], list[str]]
Batches = dict[TopicPartition, list[ConsumerRecord]]


def _recipients(engine: Engine, topic: str) -> Recipients:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT partition, log_offset, recipients FROM haven_core.audit_ledger"
                " WHERE topic = :t"
            ),
            {"t": topic},
        )
        return {(p, o): list(r) for p, o, r in rows}


def _rows(value: bytes, recipients: list[str]) -> Iterator[tuple[Any, ...]]:
    event = json.loads(value)
    data = json.dumps(event.get("data"))
    for agency in recipients:
        yield agency, event["id"], event.get("subject"), event["type"], event["time"], data


def _copy(conn: psycopg.Connection[Any], batches: Batches, recipients: Recipients) -> int:
    """COPY one fetch's rows and commit; how many rows."""
    rows = 0
    with conn.cursor() as cursor, cursor.copy(f"{_COPY} FROM STDIN") as copy:
        for tp, records in batches.items():
            for record in records:
                for row in _rows(record.value, recipients.get((tp.partition, record.offset), [])):
                    copy.write_row(row)
                    rows += 1
    conn.commit()
    return rows


async def _consume(
    conninfo: str,
    bootstrap: str,
    partitions: list[TopicPartition],
    recipients: Recipients,
    progress: Progress,
) -> tuple[int, int, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )
    events = rows = 0
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            task = progress.add_task("floor: plain consumer + COPY", total=sum(ends.values()))
            while events < sum(ends.values()):
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                rows += _copy(conn, batches, recipients)
                events += sum(len(records) for records in batches.values())
                progress.update(task, completed=events)
        finally:
            await consumer.stop()
        return events, rows, time.perf_counter() - started


def run_floor(engine: Engine, bootstrap: str, prefix: str, progress: Progress) -> dict[str, Any]:
    """Read the whole log once, COPY the same rows; the floor's figures."""
    topic = log_topic(prefix)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench_floor"))
        conn.execute(text(_TABLE))
        heads = conn.execute(
            text("SELECT partition FROM haven_core.audit_heads WHERE topic = :t"), {"t": topic}
        ).scalars()
        partitions = [TopicPartition(topic, p) for p in sorted(heads)]
    recipients = _recipients(engine, topic)
    url = make_url(engine.url).set(drivername="postgresql")
    consumed = _consume(
        url.render_as_string(hide_password=False), bootstrap, partitions, recipients, progress
    )
    events, rows, seconds = asyncio.run(consumed)
    return {
        "floor_events_per_s": rate(events, seconds),
        "floor_events": events,
        "floor_rows": rows,
        "floor_s": round(seconds, 2),
    }
