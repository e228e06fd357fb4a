"""Upcasters: a fake v1 -> v2 -> v3 chain applied on read, old records untouched."""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any, ClassVar

import pytest

from events.codec import encode, parse_inbound, parse_log_dict, parse_log_record
from events.registry import TypeRegistry
from events.types.common import EventData, Family, ShortText
from events.types.personal import KeyScope, Personal, SealedField
from events.upcasting import UpcastError, Upcasters

SUBJECT = "2f1c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SEALED = {"sealed": "v1", "kid": f"subj:{SUBJECT}:0", "ct": "AAAAAAAA"}


class ThingV1(EventData):
    event_type: ClassVar[str] = "haven.test.thing.v1"
    family: ClassVar[Family] = Family.RISK
    name: ShortText
    secret: Annotated[ShortText, Personal(KeyScope.SUBJECT)]


class ThingV2(EventData):
    event_type: ClassVar[str] = "haven.test.thing.v2"
    family: ClassVar[Family] = Family.RISK
    label: ShortText
    secret: Annotated[ShortText, Personal(KeyScope.SUBJECT)]


class ThingV3(EventData):
    event_type: ClassVar[str] = "haven.test.thing.v3"
    family: ClassVar[Family] = Family.RISK
    label: ShortText
    count: int
    secret: Annotated[ShortText, Personal(KeyScope.SUBJECT)]


def chain() -> Upcasters:
    upcasters = Upcasters()

    @upcasters.register("haven.test.thing.v1")
    def rename(envelope: dict[str, Any]) -> dict[str, Any]:
        envelope["data"]["label"] = envelope["data"].pop("name")
        return envelope

    @upcasters.register("haven.test.thing.v2")
    def add_count(envelope: dict[str, Any]) -> dict[str, Any]:
        envelope["data"]["count"] = 0
        return envelope

    return upcasters


REGISTRY = TypeRegistry([ThingV1, ThingV2, ThingV3])


def record(event_type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:haven:agency:gr_police",
        "type": event_type,
        "subject": SUBJECT,
        "time": "2024-05-01T10:00:00Z",
        "agency": "gr_police",
        "jurisdiction": "GR",
        "data": data,
        **extra,
    }


def test_v1_record_is_read_as_v3() -> None:
    old = record(
        "haven.test.thing.v1",
        {"name": "n", "secret": SEALED},
        dataschema="urn:haven:schema:haven.test.thing.v1",
    )
    before = copy.deepcopy(old)
    raw = json.dumps(old).encode()
    event = parse_log_record(raw, registry=REGISTRY, upcasters=chain())
    assert isinstance(event.data, ThingV3)
    assert event.type == "haven.test.thing.v3"
    assert (event.data.label, event.data.count) == ("n", 0)
    assert event.data.secret == SealedField.model_validate(SEALED)  # type: ignore[comparison-overlap]
    assert json.loads(raw) == before == old  # the stored record is never rewritten
    assert json.loads(encode(event))["dataschema"] == "urn:haven:schema:haven.test.thing.v3"


def test_chain_starts_at_any_version_and_latest_stops() -> None:
    upcasters = chain()
    v2 = record("haven.test.thing.v2", {"label": "l", "secret": SEALED})
    assert isinstance(parse_log_dict(v2, registry=REGISTRY, upcasters=upcasters).data, ThingV3)
    v3 = record("haven.test.thing.v3", {"label": "l", "count": 2, "secret": SEALED})
    assert upcasters.upcast(v3) == v3
    assert upcasters.latest("haven.test.thing.v1") == "haven.test.thing.v3"
    assert "haven.test.thing.v2" in upcasters
    assert "haven.test.thing.v3" not in upcasters


def test_without_upcasters_old_versions_read_as_they_are() -> None:
    old = record("haven.test.thing.v1", {"name": "n", "secret": SEALED})
    event = parse_log_dict(old, registry=REGISTRY, upcasters=Upcasters())
    assert isinstance(event.data, ThingV1)


def test_inbound_is_not_upcast() -> None:
    plain = record("haven.test.thing.v1", {"name": "n", "secret": "plain"})
    event = parse_inbound(json.dumps(plain).encode(), registry=REGISTRY)
    assert isinstance(event.data, ThingV1)


def test_an_upcaster_must_produce_the_next_version() -> None:
    upcasters = Upcasters()
    upcasters.add(
        "haven.test.thing.v1", lambda envelope: {**envelope, "type": "haven.test.thing.v3"}
    )
    with pytest.raises(UpcastError, match=r"must produce haven\.test\.thing\.v2"):
        upcasters.upcast(record("haven.test.thing.v1", {}))


def test_registration_errors() -> None:
    upcasters = chain()
    with pytest.raises(UpcastError, match="already registered"):
        upcasters.add("haven.test.thing.v1", lambda envelope: envelope)
    with pytest.raises(ValueError, match="versioned"):
        upcasters.add("not-a-type", lambda envelope: envelope)
    assert Upcasters.next_type("haven.test.thing.v9") == "haven.test.thing.v10"


def test_a_current_record_is_read_from_its_own_text_like_its_object() -> None:
    upcasters = chain()
    current = record("haven.test.thing.v3", {"label": "l", "count": 2**70, "secret": SEALED})
    assert upcasters.is_current(current)
    assert not upcasters.is_current(record("haven.test.thing.v2", {}))
    raw = json.dumps(current).encode()
    from_text = parse_log_record(raw, registry=REGISTRY, upcasters=upcasters)
    assert from_text == parse_log_dict(current, registry=REGISTRY, upcasters=upcasters)
    assert isinstance(from_text.data, ThingV3)
    assert from_text.data.count == 2**70  # beyond orjson's 64 bits: the standard library writes it
