"""Relays erasure notices to ``haven.notices.<agency>.v1``, at least once.

A notice is marked relayed only after the broker acknowledged it; a crash in
between sends it again with the same ``notice_id``, which consumers use to
drop the repeat.  Notices hold ids and counts only, never personal data.
"""

from __future__ import annotations

import json
import logging

from kafka import KafkaProducer
from sqlalchemy import Engine, text

from events.publisher import JSON_CONTENT_TYPE_HEADER, producer_config
from events.topics import notices_topic
from infra.topics import ensure_topics, notices_topic_spec

logger = logging.getLogger("haven.notices")


class NoticeRelay:
    """Moves pending notices from ``haven_core.notice_outbox`` to the agencies' topics."""

    def __init__(self, engine: Engine, bootstrap_servers: str, topic_prefix: str) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self._prefix = topic_prefix
        self._producer: KafkaProducer | None = None
        #: Agencies whose notice topic this relay has made (or found).
        self._agencies: set[str] = set()

    def relay(self, limit: int = 1000) -> int:
        """Send pending notices; returns how many were relayed."""
        with self._engine.connect() as conn:
            pending = conn.execute(
                text(
                    "SELECT notice_id, agency_id, subject_id, payload FROM haven_core.notice_outbox"
                    " WHERE relayed_at IS NULL ORDER BY created_at LIMIT :n"
                ),
                {"n": limit},
            ).all()
        if not pending:
            return 0
        producer = self._ensure_producer()
        topics = {a: notices_topic(self._prefix, a) for a in sorted({row[1] for row in pending})}
        self._ensure_topics(set(topics))
        _learn_topics(producer, list(topics.values()))
        for _notice_id, agency_id, subject_id, payload in pending:
            producer.send(
                topics[agency_id],
                key=str(subject_id).encode(),
                value=json.dumps(payload, sort_keys=True).encode(),
                headers=[JSON_CONTENT_TYPE_HEADER],
            )
        producer.flush(timeout=30)
        with self._engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE haven_core.notice_outbox SET relayed_at = now()"
                    " WHERE notice_id = ANY(:n)"
                ),
                {"n": [row[0] for row in pending]},
            )
        logger.info("erasure notices relayed", extra={"notices": len(pending)})
        return len(pending)

    def _ensure_topics(self, agencies: set[str]) -> None:
        """Create the notice topics of ``agencies`` this relay has not seen yet, with one
        admin client for all of them.

        One client per agency cost two metadata answers naming every topic of the
        cluster per new agency: with 600 agencies, a fifth of the engine's CPU.
        """
        new = sorted(agencies - self._agencies)
        if new:
            ensure_topics(self._bootstrap, [notices_topic_spec(self._prefix, a) for a in new])
            self._agencies.update(new)

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(**producer_config(self._bootstrap, 30_000))
        return self._producer

    def close(self) -> None:
        """Close the producer, if one was opened."""
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None


def _learn_topics(producer: KafkaProducer, topics: list[str]) -> None:
    """Have the producer learn where every topic of ``topics`` lives before it sends.

    kafka-python's ``send`` to a topic the producer does not know waits for a
    metadata answer naming it, one topic after the other, each answer naming
    every topic tracked so far: with 600 agencies new to the relay that was
    half a minute of the scheduler's tick (and of the engine's stop).  All the
    topics are handed to the producer's sender first (what ``send`` does for
    one), so the first wait's answer names them all and the others wait for
    nothing.  (The sender is kafka-python's; without it each ``send`` still
    learns its own topic, as before.)
    """
    add_topic = getattr(getattr(producer, "_sender", None), "add_topic", None)
    if callable(add_topic):
        for topic in topics:
            add_topic(topic)
    for topic in topics:
        producer.partitions_for(topic)
