"""The CLI explains itself: every option has help, errors keep their brackets."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import typer
from typer.core import TyperOption
from typer.testing import CliRunner

from services.cli.main import app

runner = CliRunner()


def _commands(command: Any, path: str = "haven") -> list[tuple[str, Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            found.extend(_commands(sub, f"{path} {name}"))
    return found


COMMANDS = _commands(typer.main.get_command(app))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_has_help(path: str, command: Any) -> None:
    missing = [
        param.name
        for param in command.params
        if isinstance(param, TyperOption) and not param.hidden and not (param.help or "").strip()
    ]
    assert not missing, f"{path}: options without help: {missing}"


def test_agency_type_is_a_choice_list() -> None:
    agency = typer.main.get_command(app).commands["agency"]  # type: ignore[attr-defined]
    option = next(p for p in agency.commands["add"].params if p.name == "agency_type")
    choices = option.type_descriptor.annotation
    assert issubclass(choices, Enum)
    assert option.show_choices
    assert {"police", "ngo", "shelter", "labour_inspectorate"} <= {c.value for c in choices}


def test_a_bad_agency_id_prints_the_pattern_with_its_brackets() -> None:
    result = runner.invoke(
        app, ["agency", "add", "--id", "es-police", "--type", "police", "--jurisdiction", "ES"]
    )
    assert result.exit_code == 2
    assert "--id: must match the pattern ^[a-z][a-z0-9_]{1,39}$" in result.output


def test_an_unknown_agency_type_names_the_choices() -> None:
    result = runner.invoke(
        app, ["agency", "add", "--id", "es_police", "--type", "polis", "--jurisdiction", "ES"]
    )
    assert result.exit_code == 2
    assert "police" in result.output
    assert "labour_inspectorate" in result.output


def test_invalid_kafka_settings_stop_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    result = runner.invoke(app, ["agency", "list"])
    assert result.exit_code == 2
    assert "KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL" in " ".join(
        result.output.split()
    )
