"""What Postgres cannot store is refused at the door (``events.storable``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events.codec import parse_dict, parse_inbound, parse_log_dict
from events.errors import ContractError, RejectReason
from events.storable import EARLIEST, LATEST_PLANNED, text_errors, time_fields
from events.types import EVENT_MODELS
from tests.unit.test_codec import event

NOW = datetime.now(UTC)


def refusal(document: dict[str, Any]) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_inbound(json.dumps(document).encode(), inbox_agency="gr_police")
    assert caught.value.reason is RejectReason.SCHEMA_VIOLATION
    return caught.value


def only(error: ContractError) -> tuple[str, str]:
    (item,) = error.errors
    return item.path, item.code


def identification(**data: Any) -> dict[str, Any]:
    document = event()
    document["data"].update(data)
    return document


def test_nul_in_gender_names_the_field_not_the_value() -> None:
    error = refusal(identification(gender="fem\x00ale"))
    assert only(error) == ("data.gender", "nul_character")
    assert "fem" not in json.dumps(error.to_dict())


def test_nul_in_a_nested_personal_field_and_in_a_list() -> None:
    document = identification(indicators=["debt", "x\x00"])
    document["data"]["personal"]["full_name"] = "Maria\x00"
    error = refusal(document)
    assert {(e.path, e.code) for e in error.errors} == {
        ("data.indicators[1]", "nul_character"),
        ("data.personal.full_name", "nul_character"),
    }


@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDFFF), f"a{chr(0xDC00)}b"])
def test_lone_surrogates_are_schema_violations(surrogate: str) -> None:
    document = identification(gender=surrogate)
    assert only(refusal(document)) == ("data.gender", "lone_surrogate")


def test_paired_surrogates_are_text() -> None:
    parsed = parse_inbound(json.dumps(identification(gender="\U0001f600")).encode())
    assert parsed.data.gender == "\U0001f600"  # type: ignore[attr-defined]


def test_unknown_keys_are_not_echoed() -> None:
    document = identification(maria_papadopoulou="x\x00")
    error = refusal(document)
    assert only(error) == ("data", "nul_character")
    assert "maria" not in json.dumps(error.to_dict())
    key = identification()
    key["data"]["personal"]["na\x00me"] = "x"
    assert only(refusal(key)) == ("data.personal", "unstorable_key")


def test_integers_must_fit_64_bits() -> None:
    assert [(e.path, e.code) for e in text_errors({"data": [2**63]})] == [("data[0]", "int_range")]
    assert text_errors({"data": [2**63 - 1, -(2**63), True]}) == ()


def test_storable_text_comes_before_the_other_checks() -> None:
    document = identification(gender="\x00")
    document["agency"] = "someone_else"
    assert only(refusal(document)) == ("data.gender", "nul_character")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("attribute", "moment", "code"),
    [
        ("time", NOW + timedelta(hours=25), "time_window"),
        ("time", EARLIEST - timedelta(seconds=1), "time_window"),
        ("identified_at", NOW + timedelta(days=2), "time_window"),
        ("identified_at", datetime(1, 1, 1, 1, tzinfo=UTC), "time_window"),
    ],
)
def test_recorded_times_lie_in_the_window(attribute: str, moment: datetime, code: str) -> None:
    document = identification()
    if attribute == "time":
        document["time"] = _iso(moment)
        path = "time"
    else:
        document["data"][attribute] = _iso(moment)
        path = f"data.{attribute}"
    assert only(refusal(document)) == (path, code)


def test_the_window_edges_are_accepted() -> None:
    document = identification(identified_at=_iso(NOW + timedelta(hours=23)))
    document["time"] = _iso(EARLIEST)
    parse_inbound(json.dumps(document).encode())


def test_dates_of_birth_lie_in_the_window() -> None:
    document = identification()
    document["data"]["personal"]["date_of_birth"] = "1899-12-31"
    assert only(refusal(document)) == ("data.personal.date_of_birth", "time_window")


def test_planned_times_may_lie_ahead_but_not_beyond_2200() -> None:
    ahead = _iso(NOW + timedelta(days=3650))
    grant = event("haven.consent.granted.v1")
    grant["data"]["expires_at"] = ahead
    assert parse_dict(grant).data.expires_at is not None  # type: ignore[attr-defined]
    grant["data"]["expires_at"] = _iso(LATEST_PLANNED)
    assert only(refusal(grant)) == ("data.expires_at", "time_window")
    order = event("haven.protective-order.issued.v1")
    order["data"]["valid_until"] = _iso(LATEST_PLANNED + timedelta(days=1))
    assert only(refusal(order)) == ("data.valid_until", "time_window")


def test_log_records_are_read_without_the_window() -> None:
    """What was accepted stays readable: the window is checked inbound only."""
    system = {
        "specversion": "1.0",
        "id": "sys-1",
        "source": "urn:haven:system",
        "type": "haven.agency.registered.v1",
        "time": "1850-01-01T00:00:00Z",
        "data": {
            "agency_id": "gr_police",
            "agency_type": "police",
            "jurisdiction": "GR",
            "name": "Police",
        },
    }
    assert parse_log_dict(system).time.year == 1850


def test_every_time_field_of_every_model_is_in_the_window_check() -> None:
    for model in EVENT_MODELS:
        properties = model.model_json_schema()["properties"]
        times = {
            name
            for name, prop in properties.items()
            for node in [prop, *prop.get("anyOf", [])]
            if node.get("format") in ("date-time", "date")
        }
        assert times <= {name for name, _ in time_fields(model)}, model.__name__
