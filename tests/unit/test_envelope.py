"""Envelope and typed Event: attributes, helpers, personal-field markers, topics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from events.envelope import Envelope, Event, agency_source, schema_uri, source_agency
from events.registry import REGISTRY, data_model, event_types, latest_version, split_type
from events.topics import dlq_topic, inbox_agency, inbox_topic, log_topic, notices_topic
from events.types import (
    AgencyType,
    EventData,
    Family,
    KeyScope,
    PersonalDetails,
    ProtectiveOrderIssued,
    RiskAssessed,
    SealedField,
    VictimIdentified,
    personal_fields,
)
from events.types.common import COUNTRY_CODES

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
SUBJECT = "2f1c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def identified() -> VictimIdentified:
    return VictimIdentified(
        identified_at=NOW,
        nationality=["UA"],
        exploitation_types=[],
        indicators=[],
        is_minor=True,
        languages=["uk"],
        personal=PersonalDetails(full_name="Ada Example", date_of_birth=date(2010, 1, 2)),
    )


def test_event_built_in_code_has_cloudevents_attributes() -> None:
    event = Event[VictimIdentified](
        id="e-1",
        source=agency_source("ua_ngo"),
        subject=SUBJECT,
        time=NOW,
        agency="ua_ngo",
        jurisdiction="UA",
        data=identified(),
    )
    assert event.type == "haven.victim.identified.v1"
    assert event.dataschema == "urn:haven:schema:haven.victim.identified.v1"
    assert (event.specversion, event.datacontenttype) == ("1.0", "application/json")
    assert event.source_agency == "ua_ngo"
    assert not event.is_system
    assert event.model_dump(mode="json")["data"]["personal"]["full_name"] == "Ada Example"


def test_event_is_validated_and_frozen() -> None:
    with pytest.raises(ValidationError):
        Event(id="e 1", source="urn:haven:agency:ua_ngo", time=NOW, data=identified())
    with pytest.raises(ValidationError):
        Event(
            id="e-1", source="urn:haven:agency:ua_ngo", time=datetime(2024, 1, 1), data=identified()
        )
    event = Event(id="e-1", source="urn:haven:system", time=NOW, data=identified())
    with pytest.raises(ValidationError):
        event.id = "other"  # type: ignore[misc]


def test_source_helpers() -> None:
    assert agency_source("gr_police") == "urn:haven:agency:gr_police"
    assert source_agency("urn:haven:agency:gr_police") == "gr_police"
    assert source_agency("urn:haven:system") is None
    assert schema_uri("haven.x.v1") == "urn:haven:schema:haven.x.v1"


def test_envelope_treats_null_as_absent_and_forbids_unknown_attributes() -> None:
    base = {
        "specversion": "1.0",
        "id": "e",
        "source": "urn:haven:system",
        "type": "t",
        "time": "2024-05-01T10:00:00+02:00",
        "data": {},
    }
    envelope = Envelope.model_validate_json(json.dumps({**base, "subject": None}))
    assert envelope.subject is None
    assert envelope.datacontenttype is None
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(json.dumps({**base, "traceparent": "x"}))


def test_class_metadata_of_every_type() -> None:
    families = {model.event_type: model.family for model in REGISTRY}
    assert len(families) == 14
    assert families["haven.record.rectified.v1"] is Family.RECORD
    assert families["haven.shelter.placement-ended.v1"] is Family.PLACEMENT
    assert families["haven.protective-order.revoked.v1"] is Family.PROTECTIVE_ORDER
    system = {m.event_type for m in REGISTRY if m.system}
    assert system == {
        "haven.agency.registered.v1",
        "haven.agency.updated.v1",
        "haven.policy.activated.v1",
        "haven.consent.expired.v1",
        "haven.erasure.executed.v1",
    }
    assert all(m.family is Family.SYSTEM for m in REGISTRY if m.system)


def test_personal_fields_and_their_keys() -> None:
    found = {t: personal_fields(REGISTRY.model(t)) for t in event_types()}
    assert {t: f for t, f in found.items() if f} == {
        "haven.victim.identified.v1": {"personal": KeyScope.SUBJECT},
        "haven.risk.assessed.v1": {"notes": KeyScope.SUBJECT},
        "haven.shelter.placement-started.v1": {"location": KeyScope.SUBJECT},
        "haven.protective-order.issued.v1": {"respondent": KeyScope.ORDER},
    }
    schema = ProtectiveOrderIssued.model_json_schema()
    assert schema["properties"]["respondent"]["x-haven-personal"] == "order"


def test_sealed_variants_type_personal_fields_as_sealed() -> None:
    sealed = data_model("haven.risk.assessed.v1", sealed=True)
    assert issubclass(sealed, RiskAssessed)
    assert sealed is data_model("haven.risk.assessed.v1", sealed=True)
    assert personal_fields(sealed) == {"notes": KeyScope.SUBJECT}
    assert sealed.model_fields["notes"].annotation == SealedField | None
    assert data_model("haven.shelter.placement-ended.v1", sealed=True) is REGISTRY.model(
        "haven.shelter.placement-ended.v1"
    )


def test_registry_versions() -> None:
    assert split_type("haven.protective-order.issued.v12") == ("haven.protective-order.issued", 12)
    with pytest.raises(ValueError, match="versioned"):
        split_type("haven.victim")
    assert latest_version("haven.victim.identified") == "haven.victim.identified.v1"
    assert latest_version("haven.victim.identified.v1") == "haven.victim.identified.v1"
    with pytest.raises(ValueError, match="twice"):
        REGISTRY.register(VictimIdentified)


def test_models_are_strict_closed_and_frozen() -> None:
    assert all(m.model_config.get("strict") for m in REGISTRY)
    assert all(m.model_config.get("extra") == "forbid" for m in REGISTRY)
    assert issubclass(VictimIdentified, EventData)
    assert {"XK", "GR", "UA"} <= set(COUNTRY_CODES)
    assert len(COUNTRY_CODES) == len(set(COUNTRY_CODES)) >= 249
    assert AgencyType("legal_aid") is AgencyType.LEGAL_AID


def test_topics() -> None:
    assert inbox_topic("haven", "gr_police") == "haven.inbox.gr_police.v1"
    assert log_topic("haven") == "haven.log.v1"
    assert dlq_topic("t1") == "t1.dlq.v1"
    assert notices_topic("haven", "it_court") == "haven.notices.it_court.v1"
    assert inbox_agency("haven", "haven.inbox.gr_police.v1") == "gr_police"
    assert inbox_agency("haven", "haven.log.v1") is None
    with pytest.raises(ValueError, match="agency ids"):
        inbox_topic("haven", "Bad.Id")
