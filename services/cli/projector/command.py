"""``haven projector new NAME``: scaffold a read model and its test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from services.cli.projector.templates import PROJECTOR, TEST

app = typer.Typer(help="Projectors (read models): scaffold new ones.", no_args_is_help=True)

NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _module(directory: Path) -> str:
    """The import path of a package directory, relative to the working directory."""
    relative = directory.resolve().relative_to(Path.cwd().resolve())
    return ".".join(relative.parts)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="snake_case name: table and module name")],
    directory: Annotated[Path, typer.Option("--dir", help="package of custom projectors")] = Path(
        "projectors/readmodels/custom"
    ),
    tests_dir: Annotated[
        Path, typer.Option("--tests-dir", help="where its integration test goes")
    ] = Path("tests/integration"),
) -> None:
    """Write ``<dir>/<name>.py`` and ``<tests-dir>/test_<name>_projector.py``."""
    err = typer.echo
    if not NAME.fullmatch(name):
        err(f"NAME: {name!r} must match {NAME.pattern} (it becomes a table name)", err=True)
        raise typer.Exit(2)
    module_path, test_path = directory / f"{name}.py", tests_dir / f"test_{name}_projector.py"
    existing = [str(p) for p in (module_path, test_path) if p.exists()]
    if existing:
        err(f"refusing to overwrite: {', '.join(existing)}", err=True)
        raise typer.Exit(2)
    try:
        package = _module(directory)
    except ValueError:
        err("--dir must be inside the working directory (it is imported from there)", err=True)
        raise typer.Exit(2) from None
    cls = "".join(part.capitalize() for part in name.split("_"))
    init = directory / "__init__.py"
    if not init.exists():
        _write(init, '"""Custom projectors."""\n')
    _write(module_path, PROJECTOR.substitute(name=name, cls=cls))
    _write(test_path, TEST.substitute(name=name, cls=cls, module=f"{package}.{name}"))
    typer.echo(f"wrote {module_path}\nwrote {test_path}")
    typer.echo(
        f"next: fill in {cls}.on_risk_assessed, run `pytest {test_path}`, then add {cls}()"
        f" to custom_projectors() in {init} so the engine runs it"
    )
