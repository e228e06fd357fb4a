"""Structured-mode events from the official CloudEvents SDK parse into the right model."""

from __future__ import annotations

from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1.conversion import to_structured as legacy_to_structured
from cloudevents.v1.http import CloudEvent as LegacyCloudEvent

from events.codec import encode, parse_inbound
from events.types import ConsentGranted, Purpose, VictimIdentified

SUBJECT = "0b7e6d1c-2a3b-4c5d-9e8f-7a6b5c4d3e2f"
ATTRIBUTES: dict[str, Any] = {
    "type": "haven.victim.identified.v1",
    "source": "urn:haven:agency:it_ngo",
    "subject": SUBJECT,
    "datacontenttype": "application/json",
    "dataschema": "urn:haven:schema:haven.victim.identified.v1",
    "agency": "it_ngo",
    "jurisdiction": "IT",
}
DATA: dict[str, Any] = {
    "identified_at": "2024-05-01T09:30:00+02:00",
    "nationality": ["NG"],
    "exploitation_types": ["sexual", "forced_labour"],
    "indicators": ["withheld documents"],
    "is_minor": False,
    "languages": ["en", "yo"],
    "personal": {"full_name": "Ada Example", "contact": "+39 000 0000"},
}


@pytest.mark.parametrize("binding", [ce_kafka.to_structured_event, ce_http.to_structured_event])
def test_sdk_structured_json_parses_into_the_model(binding: Any) -> None:
    message = binding(CloudEvent(attributes=dict(ATTRIBUTES), data=dict(DATA)))
    body = message.value if hasattr(message, "value") else message.body
    event = parse_inbound(body, inbox_agency="it_ngo")
    assert isinstance(event.data, VictimIdentified)
    assert event.subject == SUBJECT
    assert event.agency == "it_ngo"
    assert event.jurisdiction == "IT"
    assert event.data.personal.full_name == "Ada Example"


def test_legacy_sdk_api_parses_into_the_model() -> None:
    attributes = {
        **ATTRIBUTES,
        "type": "haven.consent.granted.v1",
        "dataschema": "urn:haven:schema:haven.consent.granted.v1",
    }
    data = {
        "consent_id": "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "granted_at": "2024-05-02T08:00:00Z",
        "recipients": {"jurisdictions": ["GR"], "agency_types": ["shelter"]},
        "purposes": ["care"],
    }
    headers, body = legacy_to_structured(LegacyCloudEvent(attributes, data))
    assert headers["content-type"] == "application/cloudevents+json"
    event = parse_inbound(body)
    assert isinstance(event.data, ConsentGranted)
    assert event.data.purposes == [Purpose.CARE]


def test_sdk_reads_what_haven_encodes() -> None:
    message = ce_kafka.to_structured_event(CloudEvent(attributes=dict(ATTRIBUTES), data=dict(DATA)))
    encoded = encode(parse_inbound(message.value))
    read = JSONFormat().read(None, encoded)
    assert read.get_type() == "haven.victim.identified.v1"
    assert read.get_extension("agency") == "it_ngo"
    assert read.get_data() == parse_inbound(encoded).data.model_dump(mode="json", exclude_none=True)
