"""The committed schemas equal what the models generate; ``haven contracts`` manages them."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from events.registry import event_types, schema_uri
from events.schemas import compare_schemas, schema_files
from services.cli.contracts import app

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
runner = CliRunner()


def test_committed_schemas_match_the_models() -> None:
    drift = compare_schemas(SCHEMA_DIR)
    assert drift == {"changed": [], "missing": [], "extra": []}, (
        "run `haven contracts export` and commit contracts/schemas"
    )


def test_every_type_has_a_valid_draft_2020_12_schema() -> None:
    files = schema_files()
    assert set(files) == {f"{t}.json" for t in event_types()} | {
        "sealed-field.v1.json",
        "cloudevent-envelope.v1.json",
    }
    for _name, text in files.items():
        schema = json.loads(text)
        Draft202012Validator.check_schema(schema)
        assert text.endswith("}\n")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for event_type in event_types():
        schema = json.loads(files[f"{event_type}.json"])
        assert schema["$id"] == schema_uri(event_type)
        assert schema["properties"]["type"]["const"] == event_type


def test_generation_is_deterministic() -> None:
    assert schema_files() == schema_files()


def test_export_then_check(tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    assert runner.invoke(app, ["check", "--dir", str(target)]).exit_code == 1
    assert runner.invoke(app, ["export", "--dir", str(target)]).exit_code == 0
    assert runner.invoke(app, ["check", "--dir", str(target)]).exit_code == 0


def test_check_lists_changed_missing_and_extra_files(tmp_path: Path) -> None:
    runner.invoke(app, ["export", "--dir", str(tmp_path)])
    (tmp_path / "haven.risk.assessed.v1.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "haven.consent.granted.v1.json").unlink()
    (tmp_path / "haven.old.thing.v1.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a schema", encoding="utf-8")
    result = runner.invoke(app, ["check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    output = result.output
    assert "changed:" in output
    assert "haven.risk.assessed.v1.json" in output
    assert "missing:" in output
    assert "haven.consent.granted.v1.json" in output
    assert "extra:" in output
    assert "haven.old.thing.v1.json" in output
    assert "notes.txt" not in output
