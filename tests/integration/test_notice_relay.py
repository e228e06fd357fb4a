"""The erasure-notice relay: every agency's notices on its own topic, topics made in bulk."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.cluster import ClusterMetadata
from sqlalchemy import Engine, text

from events.kafka_security import kafka_python_kwargs
from events.topics import notices_topic
from infra.endpoints import Endpoints
from infra.topics import ensure_topics
from projectors.outbox import notices
from projectors.outbox.notices import NoticeRelay


def _notice(engine: Engine, agency_id: str, subject_id: str) -> str:
    notice_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.notice_outbox (notice_id, agency_id, subject_id, payload)"
                " VALUES (:n, :a, :s, CAST(:p AS jsonb))"
            ),
            {"n": notice_id, "a": agency_id, "s": subject_id, "p": json.dumps({"id": notice_id})},
        )
    return notice_id


def _read_ids(bootstrap: str, topic: str, count: int) -> list[str]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
        **kafka_python_kwargs(),
    )
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        found: list[str] = []
        for message in consumer:
            found.append(json.loads(message.value)["id"])
            if len(found) == count:
                break
        return found
    finally:
        consumer.close()


def test_one_relay_round_makes_the_topics_of_all_new_agencies_with_one_admin_client(
    infra: Endpoints, engine: Engine, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[list[str]] = []
    real = ensure_topics  # what notices imported from infra.topics and calls

    def counted(bootstrap: str, topics: Iterable[NewTopic]) -> list[str]:
        listed = list(topics)
        made.append([topic.name for topic in listed])
        return real(bootstrap, listed)

    monkeypatch.setattr(notices, "ensure_topics", counted)
    bootstrap = infra.bootstrap_servers
    first = {agency: _notice(engine, agency, "s-1") for agency in ("a3", "a1", "a2")}
    second_a1 = _notice(engine, "a1", "s-2")
    relay = NoticeRelay(engine, bootstrap, topic_prefix)
    try:
        assert relay.relay() == 4
        names = [notices_topic(topic_prefix, a) for a in ("a1", "a2", "a3")]
        assert made == [names]  # one call for the three agencies, none per notice
        later = _notice(engine, "a2", "s-3")
        assert relay.relay() == 1
        assert made == [names]  # a topic once made is known
    finally:
        relay.close()
    assert _read_ids(bootstrap, names[0], 2) == [first["a1"], second_a1]
    assert _read_ids(bootstrap, names[1], 2) == [first["a2"], later]
    assert _read_ids(bootstrap, names[2], 1) == [first["a3"]]


def test_the_producer_learns_all_new_topics_in_one_metadata_answer(
    infra: Endpoints, engine: Engine, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka-python's send waits for a metadata answer per topic it does not know;
    the relay has its producer learn every new notice topic of a round at once."""
    relay = NoticeRelay(engine, infra.bootstrap_servers, topic_prefix)
    answers: list[int] = []
    real = ClusterMetadata.update_metadata

    def counted(metadata: ClusterMetadata, response: object) -> object:
        producer = relay._producer
        if producer is not None and metadata is producer._metadata:
            answers.append(len(getattr(response, "topics", ())))
        return real(metadata, response)

    monkeypatch.setattr(ClusterMetadata, "update_metadata", counted)
    agencies = [f"m{n:02d}" for n in range(30)]
    ids = {agency: _notice(engine, agency, "s-1") for agency in agencies}
    try:
        assert relay.relay() == 30
    finally:
        relay.close()
    assert len(answers) <= 3, answers  # one answer per new topic before (30 or more)
    for agency in (agencies[0], agencies[-1]):
        assert _read_ids(infra.bootstrap_servers, notices_topic(topic_prefix, agency), 1) == [
            ids[agency]
        ]
