"""JSON Schemas (draft 2020-12) of the contract, generated from the models.

``contracts/schemas/<type>.json`` is the full CloudEvent of one type and
version (envelope with ``type`` fixed, ``data`` in ``$defs``), plus
``sealed-field.v1.json`` and ``cloudevent-envelope.v1.json``.  Output is
deterministic (sorted keys, 2-space indent, trailing newline) so that
``haven contracts check`` can compare it byte for byte with the committed files.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Final

from events.envelope import AGENCY_SOURCE_PREFIX, SCHEMA_URI_PREFIX, SYSTEM_SOURCE, Envelope
from events.registry import REGISTRY, TypeRegistry
from events.types.common import AGENCY_ID_PATTERN, COUNTRY_SCHEMA
from events.types.personal import PERSONAL_KEYWORD, SealedField

JsonSchema = dict[str, Any]
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SEALED_FIELD_ID: Final = f"{SCHEMA_URI_PREFIX}sealed-field.v1"
ENVELOPE_ID: Final = f"{SCHEMA_URI_PREFIX}cloudevent-envelope.v1"
_COUNTRY_REF: Final = {"$ref": "#/$defs/CountryCode"}
_CROSS_FIELD_NOTE: Final = (
    "Checked by Haven beyond this schema: `agency` equals the agency in `source` and the"
    f" inbox or caller. Fields marked `{PERSONAL_KEYWORD}` are plain on input and are"
    f" stored as {SEALED_FIELD_ID} objects from the sealer on."
)


def _hoist_countries(node: Any) -> tuple[Any, bool]:
    """Replace every inline country enum with a ``$ref`` to one definition."""
    if isinstance(node, dict) and node.get("enum") == COUNTRY_SCHEMA["enum"]:
        annotations = {k: v for k, v in node.items() if k not in COUNTRY_SCHEMA}
        return {**_COUNTRY_REF, **annotations}, True
    if isinstance(node, dict):
        pairs = {key: _hoist_countries(value) for key, value in node.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(used for _, used in pairs.values())
    if isinstance(node, list):
        items = [_hoist_countries(value) for value in node]
        return [v for v, _ in items], any(used for _, used in items)
    return node, False


def _finish(schema: JsonSchema, schema_id: str | None) -> JsonSchema:
    hoisted, uses_countries = _hoist_countries(schema)
    body: JsonSchema = hoisted
    if uses_countries:
        body.setdefault("$defs", {})["CountryCode"] = copy.deepcopy(COUNTRY_SCHEMA) | {
            "description": "ISO 3166-1 alpha-2 country code (plus XK, Kosovo)."
        }
    head = {"$schema": DIALECT} | ({"$id": schema_id} if schema_id else {})
    return head | body


def data_schema(
    event_type: str, *, sealed: bool = False, registry: TypeRegistry = REGISTRY
) -> JsonSchema:
    """The JSON Schema of ``data`` alone (plain inbound form, or the sealed log form)."""
    model = registry.data_model(event_type, sealed=sealed)
    return _finish(model.model_json_schema(mode="validation"), None)


def _not_null(prop: JsonSchema) -> JsonSchema:
    """``anyOf: [X, null]`` with a null default -> X."""
    (kept,) = [s for s in prop["anyOf"] if s != {"type": "null"}]
    return {**kept, "title": prop.get("title")} if "title" in prop else dict(kept)


def event_schema(event_type: str, *, registry: TypeRegistry = REGISTRY) -> JsonSchema:
    """The JSON Schema of a whole structured-mode CloudEvent of one type."""
    model = registry.model(event_type)
    envelope = Envelope.model_json_schema(mode="validation")
    data = model.model_json_schema(mode="validation")
    defs = envelope.pop("$defs", {}) | data.pop("$defs", {}) | {model.__name__: data}
    props = envelope["properties"]
    required = set(envelope["required"])
    props["type"] = {"const": event_type, "type": "string"}
    props["dataschema"] = {
        "anyOf": [{"const": registry.schema_uri(event_type), "type": "string"}, {"type": "null"}],
        "default": None,
    }
    props["data"] = {"$ref": f"#/$defs/{model.__name__}"}
    if model.system:
        props["source"] = {"const": SYSTEM_SOURCE, "type": "string"}
        props["agency"] = {"default": None, "type": "null"}
    else:
        pattern = f"^{AGENCY_SOURCE_PREFIX}{AGENCY_ID_PATTERN[1:]}"
        props["source"] = {"maxLength": 64, "pattern": pattern, "type": "string"}
        props["agency"] = _not_null(props["agency"])
        props["jurisdiction"] = _not_null(props["jurisdiction"])
        required |= {"agency", "jurisdiction"}
    if model.requires_subject:
        props["subject"] = _not_null(props["subject"])
        required.add("subject")
    envelope |= {
        "title": event_type,
        "description": f"{(model.__doc__ or '').strip()}\n\n{_CROSS_FIELD_NOTE}",
        "required": sorted(required),
        "$defs": defs,
    }
    return _finish(envelope, registry.schema_uri(event_type))


def envelope_schema() -> JsonSchema:
    """The envelope common to every type (``data`` untyped)."""
    return _finish(Envelope.model_json_schema(mode="validation"), ENVELOPE_ID)


def sealed_field_schema() -> JsonSchema:
    """The form of a personal field at rest."""
    return _finish(SealedField.model_json_schema(mode="validation"), SEALED_FIELD_ID)


def render(schema: JsonSchema) -> str:
    """Deterministic text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_files(registry: TypeRegistry = REGISTRY) -> dict[str, str]:
    """Every file of ``contracts/schemas``: relative name -> content."""
    files = {
        f"{t}.json": render(event_schema(t, registry=registry)) for t in registry.event_types()
    }
    files["sealed-field.v1.json"] = render(sealed_field_schema())
    files["cloudevent-envelope.v1.json"] = render(envelope_schema())
    return files


def write_schemas(directory: Path, registry: TypeRegistry = REGISTRY) -> list[str]:
    """Write every schema file into ``directory``; returns the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    files = schema_files(registry)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return sorted(files)


def compare_schemas(directory: Path, registry: TypeRegistry = REGISTRY) -> dict[str, list[str]]:
    """Drift between the models and ``directory``: ``changed``, ``missing``, ``extra`` names."""
    expected = schema_files(registry)
    present = (
        {p.relative_to(directory).as_posix() for p in directory.rglob("*.json")}
        if directory.is_dir()
        else set()
    )
    changed = [
        n
        for n in sorted(present & expected.keys())
        if (directory / n).read_text(encoding="utf-8") != expected[n]
    ]
    return {
        "changed": changed,
        "missing": sorted(expected.keys() - present),
        "extra": sorted(present - expected.keys()),
    }
