"""System-event outbox: written with the change it describes, relayed to the log.

System events (an agency registered, a policy activated...) change who
receives what.  Each one without a subject is written to every partition of
the log, so every
partition's ordered stream sees the change at the same point relative to its
own events; the engine applies one system event id once per partition.
One about a subject (consent expired, erasure executed) is keyed by the
subject, so it lands in the subject's partition like the sealer's records.
Relaying is at least once: a crash after producing but before marking the
row relayed produces the event again, with the same id.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Connection, Engine, text

from events.codec import encode
from events.envelope import SYSTEM_SOURCE, Event
from events.publisher import CONTENT_TYPE_HEADER, producer_config
from events.types import EventData

logger = logging.getLogger("haven.outbox")


def system_event(data: EventData, subject: str | None = None) -> Event[Any]:
    """A new system event around ``data``."""
    return Event[EventData](
        id=str(uuid.uuid4()),
        source=SYSTEM_SOURCE,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def enqueue(conn: Connection, event: Event[Any]) -> None:
    """Put a system event in the outbox, in the caller's transaction."""
    conn.execute(
        text("INSERT INTO haven_core.system_outbox (event_id, payload) VALUES (:i, :p)"),
        {"i": event.id, "p": encode(event)},
    )


def relay_pending(engine: Engine, bootstrap_servers: str, log_topic: str) -> int:
    """Produce every pending system event to all log partitions; returns how many."""
    with engine.connect() as conn:
        pending = conn.execute(
            text(
                "SELECT seq, payload FROM haven_core.system_outbox"
                " WHERE relayed_at IS NULL ORDER BY seq"
            )
        ).all()
    if not pending:
        return 0
    producer = KafkaProducer(**producer_config(bootstrap_servers, 30_000))
    try:
        partitions = sorted(producer.partitions_for(log_topic) or [])
        if not partitions:
            raise RuntimeError(f"log topic {log_topic} does not exist")
        for _seq, payload in pending:
            subject = json.loads(bytes(payload)).get("subject")
            if subject is not None:  # about one subject: its partition only, like the sealer
                producer.send(
                    log_topic,
                    value=bytes(payload),
                    key=subject.encode(),
                    headers=[CONTENT_TYPE_HEADER],
                )
                continue
            for partition in partitions:
                producer.send(
                    log_topic,
                    value=bytes(payload),
                    partition=partition,
                    headers=[CONTENT_TYPE_HEADER],
                )
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=30)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE haven_core.system_outbox SET relayed_at = now() WHERE seq = ANY(:s)"),
            {"s": [seq for seq, _ in pending]},
        )
    logger.info(
        "system events relayed", extra={"events": len(pending), "partitions": len(partitions)}
    )
    return len(pending)
