"""``haven worker`` starts without the rest of the CLI: what its processes import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.cli.worker.direct import worker_role

#: Loaded by the typer CLI and the other commands, never needed to supervise.
CLI_ONLY = ("typer", "rich", "fastapi", "uvicorn", "httpx")
#: The stream processors' libraries: a role's child needs them, the supervisor does not.
STREAM = ("faust", "aiokafka", "sqlalchemy", "psycopg", "cryptography")


def _loaded(code: str, packages: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(p for p in {packages!r} if p in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_the_supervisor_imports_neither_the_cli_nor_the_stream_processors() -> None:
    code = "import services.cli.main, services.cli.worker.direct"
    assert _loaded(code, CLI_ONLY + STREAM) == []


def test_a_role_child_imports_its_stream_processors_but_not_the_cli() -> None:
    code = "import services.cli.main, services.cli.worker.role"
    assert _loaded(code, CLI_ONLY) == []
    assert _loaded(code, STREAM) == list(STREAM)  # the probe sees what is imported


def test_the_cli_app_is_still_there_for_every_other_command() -> None:
    assert _loaded("from services.cli.main import app", ("typer",)) == ["typer"]


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["worker"], "all"),
        (["worker", "--role", "all"], "all"),
        (["worker", "--role", "sealer"], "sealer"),
        (["worker", "--role=engine"], "engine"),
        (["worker", "--role", "engine", "--share", "1/2"], "engine:1/2"),
        (["worker", "--role", "engine", "--share", "0/2", "--share", "1/2"], "engine:0/2,1/2"),
        (["worker", "--role", "engine", "--share", "2/2"], None),  # the CLI says why not
        (["worker", "--role", "engine", "--share", "0/2", "--share", "0/2"], None),
        (["worker", "--role", "engine", "--share", "0/2", "1/2"], None),
        (["worker", "--role", "sealer", "--share", "0/2"], None),
        (["worker", "--role", "scheduler"], None),  # the CLI says what is wrong
        (["worker", "--help"], None),
        (["worker", "--role"], None),
        (["up"], None),
        ([], None),
    ],
)
def test_only_plain_worker_command_lines_skip_the_cli(argv: list[str], role: str | None) -> None:
    assert worker_role(argv) == role


def test_a_command_imports_its_own_module_and_none_of_the_others() -> None:
    """``haven agency ...`` builds the app with the agency commands only (quicker to start)."""
    code = (
        "from services.cli.app import build_app, command_named\n"
        "app = build_app(command_named(['agency', 'add', '--id', 'x']))\n"
        "assert [g.name for g in app.registered_groups] == ['agency'], app.registered_groups\n"
        "assert app.registered_commands == []"
    )
    others = ("fastapi", "uvicorn", "faust", "services.cli.bench", "services.cli.up")
    assert _loaded(code, (*others, "services.cli.agency")) == ["services.cli.agency"]


def test_a_command_line_naming_no_command_gets_every_command() -> None:
    from typer.main import get_group

    from services.cli.app import COMMANDS, build_app, command_named

    for argv in ([], ["--help"], ["nosuch", "add"], ["--install-completion"]):
        assert command_named(argv) is None
    assert sorted(get_group(build_app(None)).commands) == sorted(COMMANDS)
    assert list(get_group(build_app("up")).commands) == ["up"]
