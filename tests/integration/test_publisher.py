"""Publisher SDK against the real broker: validated, keyed, structured mode."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from events.codec import parse_inbound
from events.errors import ContractError, RejectReason
from events.publisher import InboxMissingError, Publisher
from events.topics import inbox_topic
from events.types import VictimIdentified
from infra.endpoints import Endpoints
from infra.topics import ensure_topics, inbox_topic_spec
from services.scenarios.builders import cloudevent, identification
from services.scenarios.synthetic import first_cases

pytestmark = pytest.mark.integration


def _events(agency: str, count: int) -> list[dict[str, Any]]:
    rng = random.Random(3)
    return [
        cloudevent(
            agency=agency,
            jurisdiction="GR",
            event_type="haven.victim.identified.v1",
            subject=str(uuid.uuid4()),
            time=datetime.now(UTC),
            data=identification(case, rng),
        )
        for case in first_cases(count)
    ]


def _read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    consumer.seek_to_beginning()
    records: list[Any] = []
    for _ in range(40):
        for batch in consumer.poll(timeout_ms=250).values():
            records.extend(batch)
        if len(records) >= count:
            break
    consumer.close()
    return records


def test_published_events_are_read_back_from_the_broker(
    infra: Endpoints, topic_prefix: str
) -> None:
    ensure_topics(infra.bootstrap_servers, [inbox_topic_spec(topic_prefix, "gr_ngo", 3)])
    events = _events("gr_ngo", 20)
    with Publisher(infra.bootstrap_servers, "gr_ngo", topic_prefix=topic_prefix) as publisher:
        publisher.ensure_inbox()
        pending = [publisher.send_bytes(json.dumps(e).encode()) for e in events]
        deliveries = [p.result() for p in pending]
    assert [d.event_id for d in deliveries] == [e["id"] for e in events]
    records = _read_all(infra.bootstrap_servers, inbox_topic(topic_prefix, "gr_ngo"), 20)
    by_id = {json.loads(r.value)["id"]: r for r in records}
    assert set(by_id) == {e["id"] for e in events}
    for event in events:
        record = by_id[event["id"]]
        assert record.key == event["subject"].encode()
        assert ("content-type", b"application/cloudevents+json") in record.headers
        parsed = parse_inbound(record.value, inbox_agency="gr_ngo")
        assert parsed.subject == event["subject"]
        assert isinstance(parsed.data, VictimIdentified)
        assert parsed.data.personal.full_name == event["data"]["personal"]["full_name"]


def test_invalid_events_are_refused_before_sending(infra: Endpoints, topic_prefix: str) -> None:
    ensure_topics(infra.bootstrap_servers, [inbox_topic_spec(topic_prefix, "gr_ngo", 1)])
    [event] = _events("gr_ngo", 1)
    foreign = {**event, "agency": "it_police", "source": "urn:haven:agency:it_police"}
    with Publisher(infra.bootstrap_servers, "gr_ngo", topic_prefix=topic_prefix) as publisher:
        with pytest.raises(ContractError) as caught:
            publisher.send_bytes(json.dumps(foreign).encode())
        assert caught.value.reason is RejectReason.AGENCY_MISMATCH
        event["data"]["is_minor"] = "yes"
        with pytest.raises(ContractError) as caught:
            publisher.send_bytes(json.dumps(event).encode())
        assert [e.path for e in caught.value.errors] == ["data.is_minor"]
    assert _read_all(infra.bootstrap_servers, inbox_topic(topic_prefix, "gr_ngo"), 1) == []


def test_missing_inbox_is_a_clear_error(infra: Endpoints, topic_prefix: str) -> None:
    publisher = Publisher(infra.bootstrap_servers, "nobody_here", topic_prefix=topic_prefix)
    with publisher, pytest.raises(InboxMissingError, match="haven agency add"):
        publisher.ensure_inbox()


def test_an_event_object_of_another_agency_is_refused(infra: Endpoints, topic_prefix: str) -> None:
    [raw] = _events("gr_ngo", 1)
    event = parse_inbound(json.dumps(raw).encode(), inbox_agency="gr_ngo")
    publisher = Publisher(infra.bootstrap_servers, "it_police", topic_prefix=topic_prefix)
    with publisher, pytest.raises(ContractError) as caught:
        publisher.send(event)
    assert caught.value.reason is RejectReason.AGENCY_MISMATCH
