"""The AsyncAPI 3.0 document of Haven's four topic families (contracts/asyncapi.yaml)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from events.codec import parse_dict
from projectors.engine.receipts import erasure_notice, notice_id
from projectors.log import LoggedEvent

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
ASYNCAPI = CONTRACTS / "asyncapi.yaml"

AGENCY_EVENT_TYPES = {  # docs/rules.md "Event types": the ones agencies produce
    "haven.victim.identified.v1",
    "haven.risk.assessed.v1",
    "haven.shelter.placement-started.v1",
    "haven.shelter.placement-ended.v1",
    "haven.consent.granted.v1",
    "haven.consent.withdrawn.v1",
    "haven.protective-order.issued.v1",
    "haven.protective-order.revoked.v1",
    "haven.record.rectified.v1",
}
SYSTEM_EVENT_TYPES = {
    "haven.agency.registered.v1",
    "haven.agency.updated.v1",
    "haven.policy.activated.v1",
    "haven.consent.expired.v1",
    "haven.erasure.executed.v1",
}
ADDRESSES = {
    "inbox": "{prefix}.inbox.{agency_id}.v1",
    "log": "{prefix}.log.v1",
    "dlq": "{prefix}.dlq.v1",
    "notices": "{prefix}.notices.{agency_id}.v1",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local ``#/a/b`` reference (JSON Pointer), failing if it is dangling."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"dangling reference {ref}"
        assert part in node, f"dangling reference {ref}"
        node = node[part]
    return node


def message_of(doc: dict[str, Any], channel: str, key: str) -> dict[str, Any]:
    message = doc["channels"][channel]["messages"][key]
    resolved = resolve(doc, message["$ref"]) if "$ref" in message else message
    assert isinstance(resolved, dict)
    return resolved


def test_the_document_is_asyncapi_3(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]


def test_four_channels_with_the_fixed_addresses(doc: dict[str, Any]) -> None:
    channels = doc["channels"]
    assert {name: channel["address"] for name, channel in channels.items()} == ADDRESSES
    for name, channel in channels.items():
        in_address = set(re.findall(r"\{([a-z_]+)\}", channel["address"]))
        assert set(channel.get("parameters", {})) == in_address, name


def test_every_local_reference_resolves(doc: dict[str, Any]) -> None:
    local = [ref for ref in refs(doc) if ref.startswith("#")]
    assert local
    for ref in local:
        resolve(doc, ref)


def test_every_file_reference_points_to_an_existing_file(doc: dict[str, Any]) -> None:
    files = sorted({ref.split("#")[0] for ref in refs(doc) if not ref.startswith("#")})
    assert "./schemas/sealed-field.v1.json" in files
    assert "./schemas/cloudevent-envelope.v1.json" in files
    missing = [ref for ref in files if not (CONTRACTS / ref).is_file()]
    assert not missing, f"missing under {CONTRACTS}: {missing}"
    for ref in files:  # each names the event type it describes
        schema = json.loads((CONTRACTS / ref).read_text(encoding="utf-8"))
        event_type = Path(ref).name.removesuffix(".json")
        if event_type in AGENCY_EVENT_TYPES | SYSTEM_EVENT_TYPES:
            assert schema["properties"]["type"]["const"] == event_type


def test_every_channel_message_is_reachable_from_an_operation(doc: dict[str, Any]) -> None:
    reached: dict[str, set[str]] = {name: set() for name in doc["channels"]}
    for name, operation in doc["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel_ref = operation["channel"]["$ref"]
        channel = channel_ref.removeprefix("#/channels/")
        resolve(doc, channel_ref)
        for message in operation["messages"]:
            prefix = f"#/channels/{channel}/messages/"
            assert message["$ref"].startswith(prefix), (name, message)
            resolve(doc, message["$ref"])
            reached[channel].add(message["$ref"].removeprefix(prefix))
    for name, channel in doc["channels"].items():
        assert reached[name] == set(channel["messages"]), name


def test_agencies_send_to_the_inbox_and_receive_notices(doc: dict[str, Any]) -> None:
    actions = {(op["action"], op["channel"]["$ref"]) for op in doc["operations"].values()}
    assert ("send", "#/channels/inbox") in actions
    assert ("receive", "#/channels/notices") in actions


def event_messages(doc: dict[str, Any], channel: str) -> dict[str, dict[str, Any]]:
    messages = [message_of(doc, channel, key) for key in doc["channels"][channel]["messages"]]
    return {message["name"]: message for message in messages}


@pytest.mark.parametrize(
    ("channel", "types"),
    [("inbox", AGENCY_EVENT_TYPES), ("log", AGENCY_EVENT_TYPES | SYSTEM_EVENT_TYPES)],
)
def test_event_channels_carry_exactly_their_event_types(
    doc: dict[str, Any], channel: str, types: set[str]
) -> None:
    messages = event_messages(doc, channel)
    assert set(messages) == types
    for event_type, message in messages.items():
        traits = [resolve(doc, trait["$ref"]) for trait in message.get("traits", [])]
        content_types = {message.get("contentType")} | {t.get("contentType") for t in traits}
        assert "application/cloudevents+json" in content_types, event_type
        assert any("key" in t.get("bindings", {}).get("kafka", {}) for t in traits), event_type
        assert message["payload"] == {"$ref": f"./schemas/{event_type}.json"}


def test_the_dead_letter_record_and_the_erasure_notice(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    record = schemas["deadLetterRecord"]
    assert set(record["properties"]["reason"]["enum"]) == {
        "too_large",
        "invalid_json",
        "schema_violation",
        "agency_mismatch",
        "unknown_agency",
        "unknown_type",
        "missing_subject",
        "reserved_type",
    }
    assert record["properties"]["original"]["allOf"] == [
        {"$ref": "#/components/schemas/sealedField"}
    ]
    assert {"source_topic", "source_partition", "source_offset", "errors"} <= set(
        record["required"]
    )
    notice = schemas["erasureNotice"]
    assert {"notice_id", "subject", "withdrawal_event_id", "rows_erased"} <= set(notice["required"])
    assert notice["additionalProperties"] is False


@pytest.mark.parametrize(
    "cause", ["withdrawal:all", "withdrawal:consent_ids", "withdrawal:agencies", "expiry"]
)
def test_the_erasure_notice_the_engine_writes_fits_its_schema(
    doc: dict[str, Any], cause: str
) -> None:
    withdrawal = parse_dict(
        {
            "specversion": "1.0",
            "id": "evt-9",
            "source": "urn:haven:agency:gr_ngo",
            "type": "haven.consent.withdrawn.v1",
            "subject": "2f1c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "time": "2024-05-01T10:00:00Z",
            "agency": "gr_ngo",
            "jurisdiction": "GR",
            "data": {"withdrawn_at": "2024-05-01T10:00:00Z", "scope": "all"},
        }
    )
    logged = LoggedEvent(7, withdrawal, {})
    payload = {
        "notice_id": notice_id(withdrawal.id, "gr_police"),
        **erasure_notice(logged, "gr_police", cause, 3),
    }
    jsonschema.validate(payload, doc["components"]["schemas"]["erasureNotice"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**payload, "erased": []}, doc["components"]["schemas"]["erasureNotice"]
        )
