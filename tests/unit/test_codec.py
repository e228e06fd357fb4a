"""Codec: the input checks, their order, field paths, and no personal values in errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.codec import encode, parse_dict, parse_inbound, parse_log_dict, parse_log_record
from events.errors import ContractError, RejectReason
from events.registry import REGISTRY, event_types
from events.sealing import new_data_key, seal_value
from events.types import (
    ConsentGranted,
    ConsentWithdrawn,
    PlacementStarted,
    RecordRectified,
    VictimIdentified,
    personal_fields,
)

SUBJECT = "2f1c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
T = "2024-05-01T10:00:00Z"
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "haven.victim.identified.v1": {
        "identified_at": T,
        "nationality": ["NG"],
        "exploitation_types": ["sexual"],
        "indicators": ["debt"],
        "is_minor": False,
        "languages": ["en", "pcm-NG"],
        "personal": {"full_name": "Ada Example", "date_of_birth": "2001-02-03"},
    },
    "haven.risk.assessed.v1": {
        "assessed_at": T,
        "level": "high",
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "review_by": "2024-05-15",
        "notes": "threats by recruiter",
    },
    "haven.shelter.placement-started.v1": {
        "placement_id": "pl-1",
        "shelter_agency": "gr_shelter",
        "started_at": T,
        "placement_type": "emergency",
        "child_friendly": False,
        "location": "Safe house 4",
    },
    "haven.shelter.placement-ended.v1": {"placement_id": "pl-1", "ended_at": T, "reason": "moved"},
    "haven.consent.granted.v1": {
        "consent_id": "c-1",
        "granted_at": T,
        "recipients": {"agency_types": ["ngo"], "jurisdictions": ["GR"]},
        "purposes": ["care"],
    },
    "haven.consent.withdrawn.v1": {"withdrawn_at": T, "scope": {"consent_ids": ["c-1"]}},
    "haven.protective-order.issued.v1": {
        "order_id": "po-1",
        "issued_at": T,
        "issuing_jurisdiction": "GR",
        "order_type": "no_contact",
        "valid_from": T,
        "valid_until": "2025-05-01T10:00:00Z",
        "recognized_in": ["IT", "DE"],
        "respondent": {"name": "R. Example"},
    },
    "haven.protective-order.revoked.v1": {"order_id": "po-1", "revoked_at": T, "reason": "appeal"},
    "haven.record.rectified.v1": {
        "target_event_id": "evt-1",
        "fields": {"personal": {"full_name": "Ada Example", "date_of_birth": "2001-03-02"}},
        "reason": "typo",
    },
    "haven.agency.registered.v1": {
        "agency_id": "gr_police",
        "agency_type": "police",
        "jurisdiction": "GR",
        "name": "Hellenic Police",
    },
    "haven.agency.updated.v1": {
        "agency_id": "gr_police",
        "agency_type": "police",
        "jurisdiction": "GR",
        "name": "Hellenic Police (ATHU)",
    },
    "haven.policy.activated.v1": {"policy_version": "2024.1", "digest": "ab" * 32},
    "haven.consent.expired.v1": {"consent_id": "c-1", "expired_at": T},
    "haven.erasure.executed.v1": {
        "key_ids": [f"subj:{SUBJECT}:0"],
        "executed_at": T,
        "withdrawal_event_id": "evt-9",
    },
}


def event(event_type: str = "haven.victim.identified.v1", **changes: Any) -> dict[str, Any]:
    """A valid inbound event of ``event_type`` with top-level ``changes``."""
    base: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:haven:agency:gr_police",
        "type": event_type,
        "subject": SUBJECT,
        "time": T,
        "agency": "gr_police",
        "jurisdiction": "GR",
        "data": copy.deepcopy(SAMPLE_DATA[event_type]),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def rejected(data: bytes, **kwargs: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_inbound(data, **kwargs)
    return caught.value


def paths(error: ContractError) -> set[str]:
    return {e.path for e in error.errors}


def test_sample_data_covers_every_type() -> None:
    assert set(SAMPLE_DATA) == set(event_types())


AGENCY_TYPES = [t for t in event_types() if not REGISTRY.model(t).system]
SYSTEM_TYPES = [t for t in event_types() if REGISTRY.model(t).system]


@pytest.mark.parametrize("event_type", AGENCY_TYPES)
def test_valid_agency_events_parse_into_their_model(event_type: str) -> None:
    parsed = parse_inbound(raw(event(event_type)), inbox_agency="gr_police")
    assert parsed.type == event_type == type(parsed.data).event_type
    assert parsed.source_agency == "gr_police"
    assert parsed.subject == SUBJECT


@pytest.mark.parametrize("event_type", SYSTEM_TYPES)
def test_system_events_parse_from_the_log(event_type: str) -> None:
    subject = SUBJECT if REGISTRY.model(event_type).requires_subject else ...
    obj = event(event_type, source="urn:haven:system", agency=..., subject=subject)
    parsed = parse_log_record(raw(obj))
    assert parsed.is_system
    assert parsed.agency is None
    assert parsed.source_agency is None
    assert parse_log_record(encode(parsed)) == parsed


def test_too_large_wins_over_invalid_json() -> None:
    error = rejected(b"{" * 2_000, max_bytes=1_000)
    assert error.reason is RejectReason.TOO_LARGE


@pytest.mark.parametrize(
    "data",
    [
        b"{",
        b"[]",
        b'"x"',
        b"\xff\xfe",
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'{"id": 1, "id": 2}',
    ],
)
def test_invalid_json(data: bytes) -> None:
    assert rejected(data).reason is RejectReason.INVALID_JSON


def test_missing_required_fields_give_their_paths() -> None:
    bad = event()
    del bad["time"]
    del bad["data"]["personal"]["full_name"]
    error = rejected(raw(bad))
    assert error.reason is RejectReason.SCHEMA_VIOLATION
    assert paths(error) == {"time"}  # envelope first; data is checked only after it

    bad = event()
    del bad["data"]["personal"]["full_name"]
    del bad["data"]["is_minor"]
    error = rejected(raw(bad))
    assert paths(error) == {"data.personal.full_name", "data.is_minor"}
    assert {e.code for e in error.errors} == {"missing"}


def test_list_items_and_nested_paths() -> None:
    bad = event()
    bad["data"]["nationality"] = ["GR", "XX"]
    bad["data"]["languages"] = ["en", "not a tag"]
    assert paths(rejected(raw(bad))) == {"data.nationality[1]", "data.languages[1]"}


def test_envelope_violations() -> None:
    for field, value in [
        ("specversion", "0.3"),
        ("datacontenttype", "text/plain"),
        ("source", "urn:x"),
        ("subject", "NOT-A-UUID"),
        ("time", "2024-05-01 10:00:00"),
        ("jurisdiction", "GRC"),
    ]:
        error = rejected(raw(event(**{field: value})))
        assert (error.reason, paths(error)) == (RejectReason.SCHEMA_VIOLATION, {field}), field


def test_unknown_extension_attribute_is_rejected() -> None:
    error = rejected(raw(event(victimname="Ada Example")))
    assert (error.reason, paths(error)) == (RejectReason.SCHEMA_VIOLATION, {""})


def test_missing_subject() -> None:
    assert rejected(raw(event(subject=...))).reason is RejectReason.MISSING_SUBJECT
    assert rejected(raw(event(subject=None))).reason is RejectReason.MISSING_SUBJECT


def test_agency_checks() -> None:
    mismatch = raw(event(agency="it_police", jurisdiction="IT"))
    assert rejected(mismatch).reason is RejectReason.AGENCY_MISMATCH
    assert rejected(raw(event()), inbox_agency="it_police").reason is RejectReason.AGENCY_MISMATCH
    system_source = raw(event(source="urn:haven:system"))
    assert rejected(system_source).reason is RejectReason.AGENCY_MISMATCH
    unknown = rejected(raw(event()), is_known_agency=lambda agency: agency == "it_police")
    assert unknown.reason is RejectReason.UNKNOWN_AGENCY


def test_agency_mismatch_wins_over_unknown_type() -> None:
    bad = raw(event(type="haven.unknown.v1", agency="it_police"))
    assert rejected(bad).reason is RejectReason.AGENCY_MISMATCH
    assert rejected(raw(event(type="haven.unknown.v1"))).reason is RejectReason.UNKNOWN_TYPE


def test_system_types_are_reserved() -> None:
    bad = event("haven.agency.registered.v1")
    assert rejected(raw(bad)).reason is RejectReason.RESERVED_TYPE


def test_unknown_type_wins_over_data_errors() -> None:
    assert (
        rejected(raw(event(type="haven.victim.identified.v9", data={}))).reason
        is RejectReason.UNKNOWN_TYPE
    )


def test_dataschema_must_match_the_type() -> None:
    good = raw(event(dataschema="urn:haven:schema:haven.victim.identified.v1"))
    assert parse_inbound(good).dataschema == "urn:haven:schema:haven.victim.identified.v1"
    error = rejected(raw(event(dataschema="urn:haven:schema:haven.risk.assessed.v1")))
    assert (error.reason, paths(error)) == (RejectReason.SCHEMA_VIOLATION, {"dataschema"})


def test_recipients_need_a_selector_and_purposes_are_non_empty() -> None:
    bad = event("haven.consent.granted.v1")
    bad["data"]["recipients"] = {"agencies": [], "jurisdictions": []}
    bad["data"]["purposes"] = []
    assert paths(rejected(raw(bad))) == {"data.recipients", "data.purposes"}


@pytest.mark.parametrize("scope", ["all", {"consent_ids": ["c-1"]}, {"agencies": ["it_ngo"]}])
def test_withdrawal_scopes(scope: Any) -> None:
    parsed = parse_inbound(
        raw(event("haven.consent.withdrawn.v1", data={"withdrawn_at": T, "scope": scope}))
    )
    assert isinstance(parsed.data, ConsentWithdrawn)
    assert parsed.data.erase_personal_data is False


@pytest.mark.parametrize(
    "scope", ["some", {}, {"consent_ids": []}, {"agencies": ["x"], "consent_ids": ["c"]}, 3]
)
def test_bad_withdrawal_scopes_point_at_scope(scope: Any) -> None:
    error = rejected(
        raw(event("haven.consent.withdrawn.v1", data={"withdrawn_at": T, "scope": scope}))
    )
    assert all(p.startswith("data.scope") for p in paths(error)), error.to_dict()


def test_strict_types_no_coercion() -> None:
    bad = event()
    bad["data"]["is_minor"] = "false"
    bad["data"]["indicators"] = [1]
    assert paths(rejected(raw(bad))) == {"data.is_minor", "data.indicators[0]"}


def test_inbound_rejects_sealed_personal_fields() -> None:
    sealed = {"sealed": "v1", "kid": f"subj:{SUBJECT}:0", "ct": "AAAA"}
    bad = event("haven.shelter.placement-started.v1")
    bad["data"]["location"] = sealed
    assert paths(rejected(raw(bad))) == {"data.location"}


def _sealed(obj: dict[str, Any], model: type[Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    for name in personal_fields(model):
        value = out["data"][name]
        out["data"][name] = seal_value(
            new_data_key(), f"subj:{SUBJECT}:0", out["id"], f"data.{name}", value
        )
    return out


def test_log_records_need_sealed_personal_fields() -> None:
    plain = event("haven.shelter.placement-started.v1")
    with pytest.raises(ContractError) as caught:
        parse_log_record(raw(plain))
    assert paths(caught.value) == {"data.location"}
    parsed = parse_log_record(raw(_sealed(plain, PlacementStarted)))
    assert type(parsed.data).__name__ == "PlacementStartedSealed"
    assert isinstance(parsed.data, PlacementStarted)


def test_log_accepts_system_events_and_checks_their_source() -> None:
    registered = event(
        "haven.agency.registered.v1", source="urn:haven:system", agency=None, subject=...
    )
    assert parse_log_dict(registered).is_system
    with pytest.raises(ContractError) as caught:
        parse_log_dict(event("haven.agency.registered.v1"))
    assert caught.value.reason is RejectReason.RESERVED_TYPE
    expired = event("haven.consent.expired.v1", source="urn:haven:system", agency=None, subject=...)
    with pytest.raises(ContractError) as caught:
        parse_log_dict(expired)
    assert caught.value.reason is RejectReason.MISSING_SUBJECT
    with pytest.raises(ContractError) as caught:
        parse_log_dict(event("haven.risk.assessed.v1", source="urn:haven:system", agency=None))
    assert caught.value.reason is RejectReason.AGENCY_MISMATCH


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, RejectReason.RESERVED_TYPE),  # a system type from an agency
        (
            {"source": "urn:haven:system", "agency": None, "subject": ...},
            RejectReason.MISSING_SUBJECT,
        ),
    ],
)
def test_a_log_record_read_in_one_pass_fails_the_checks_read_step_by_step(
    changes: dict[str, Any], reason: RejectReason
) -> None:
    """A record valid to the schema but failing a later check: the one-pass read of the
    raw text (``parse_log_record``) and the step-by-step read agree on the reason."""
    obj = event("haven.consent.expired.v1", **changes)
    if "source" not in changes:
        obj["type"] = "haven.agency.registered.v1"
        obj["data"] = SAMPLE_DATA["haven.agency.registered.v1"]
    with pytest.raises(ContractError) as in_one_pass:
        parse_log_record(raw(obj))
    with pytest.raises(ContractError) as step_by_step:
        parse_log_dict(obj)  # no raw text
    assert in_one_pass.value.reason is step_by_step.value.reason is reason


def test_a_log_record_reads_the_same_in_one_pass_and_step_by_step() -> None:
    obj = _sealed(event("haven.shelter.placement-started.v1"), PlacementStarted)
    assert parse_log_record(raw(obj)) == parse_log_dict(obj)


def test_encode_is_deterministic_and_round_trips() -> None:
    parsed = parse_inbound(raw(event("haven.consent.granted.v1")))
    encoded = encode(parsed)
    assert encoded == encode(parse_inbound(encoded))
    body = json.loads(encoded)
    assert body["dataschema"] == "urn:haven:schema:haven.consent.granted.v1"
    assert list(body) == sorted(body)
    assert b": " not in encoded
    assert isinstance(parse_inbound(encoded).data, ConsentGranted)


def test_parse_dict_for_already_decoded_input() -> None:
    assert isinstance(parse_dict(event()).data, VictimIdentified)
    with pytest.raises(ContractError) as caught:
        parse_dict({**event(), "data": {"x": float("nan")}})
    assert caught.value.reason is RejectReason.INVALID_JSON


WORD = st.text(min_size=4, max_size=20).filter(
    lambda s: s.isprintable() and not any(c.isspace() for c in s)
)
#: Two words, like a name: never a field name, an agency id or a valid event id.
PERSONAL = st.builds(lambda first, last: f"{first} {last}", WORD, WORD)
POSITIONS = [
    ("data", "is_minor"),
    ("data", "nationality"),
    ("data", "gender"),
    ("data", "exploitation_types"),
    ("data", "personal"),
    ("personal", "date_of_birth"),
    ("personal", "full_name"),
    ("personal", "unknown key"),
    ("envelope", "subject"),
    ("envelope", "time"),
    ("envelope", "type"),
    ("envelope", "source"),
    ("envelope", "agency"),
    ("envelope", "jurisdiction"),
    ("envelope", "id"),
    ("envelope", "dataschema"),
    ("envelope", "extension"),
    ("raw", "truncated"),
]


def _place(value: str, where: str, field: str) -> bytes:
    obj = event()
    if where == "raw":
        return b'{"id": "' + value.encode() + b'"'
    if where == "envelope" and field == "extension":
        obj[value] = value
    elif where == "envelope":
        obj[field] = value
    elif field == "gender":
        obj["data"][field] = value * 10  # too long
    elif where == "data" and field in ("nationality", "exploitation_types"):
        obj["data"][field] = [value]
    elif where == "data":
        obj["data"][field] = value
    elif field == "unknown key":
        obj["data"]["personal"][value] = value
    elif field == "full_name":
        obj["data"]["personal"][field] = {"name": value}
    else:
        obj["data"]["personal"][field] = value
    return raw(obj)


@settings(max_examples=150, deadline=None)
@given(value=PERSONAL, position=st.sampled_from(POSITIONS))
def test_errors_never_echo_personal_values(value: str, position: tuple[str, str]) -> None:
    with pytest.raises(ContractError) as caught:
        parse_inbound(_place(value, *position), inbox_agency="gr_police")
    text = str(caught.value) + repr(caught.value.to_dict()) + json.dumps(caught.value.to_dict())
    assert value not in text
    assert json.dumps(value)[1:-1] not in text


@pytest.mark.parametrize("nulls", [{"notes": None}, {"notes": None, "level": None}, {}])
def test_a_correction_whose_fields_are_null_parses_the_same_after_encoding(
    nulls: dict[str, Any],
) -> None:
    """A null in ``fields`` means "not corrected": the union's choice must not depend on it."""
    raw = event("haven.record.rectified.v1")
    raw["data"]["fields"] = nulls
    parsed = parse_dict(raw)
    assert isinstance(parsed.data, RecordRectified)
    assert parsed.data.corrected() == {}
    assert parse_dict(json.loads(encode(parsed))) == parsed


def test_a_null_beside_a_given_field_does_not_change_which_type_is_corrected() -> None:
    raw = event("haven.record.rectified.v1")
    raw["data"]["fields"] = {"notes": None, "languages": ["en"]}
    parsed = parse_dict(raw)
    assert isinstance(parsed.data, RecordRectified)
    assert parsed.data.corrected() == {"languages": ["en"]}
    assert parse_dict(json.loads(encode(parsed))) == parsed


@pytest.mark.parametrize("event_type", AGENCY_TYPES)
def test_a_parsed_event_is_the_one_model_construct_builds(event_type: str) -> None:
    parsed = parse_inbound(raw(event(event_type)))
    attributes = {name: getattr(parsed, name) for name in type(parsed).model_fields}
    built = type(parsed).model_construct(**attributes)
    assert parsed == built
    assert parsed.model_fields_set == built.model_fields_set
    assert parsed.model_dump() == built.model_dump()
    assert encode(parsed) == encode(built)
    assert parse_inbound(encode(parsed)) == parsed


@pytest.mark.parametrize("record", [b"{not json", b"[1, 2]", b'"text"', b'{"a": NaN}'])
def test_a_log_record_that_is_no_json_object_is_invalid_json(record: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        parse_log_record(record)
    assert caught.value.reason is RejectReason.INVALID_JSON
