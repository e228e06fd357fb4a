"""``haven contracts export|check``: the committed JSON Schemas in ``contracts/schemas``.

Only ``contracts/schemas/`` is managed here; the policy YAML and the AsyncAPI
document elsewhere in ``contracts/`` are left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from events.schemas import compare_schemas, write_schemas

app = typer.Typer(help="Generate and check the committed contracts/.", no_args_is_help=True)

SchemaDir = Annotated[
    Path,
    typer.Option("--dir", help="the schema directory (run from the repository root)"),
]
DEFAULT_DIR = Path("contracts/schemas")


@app.command("export")
def export(directory: SchemaDir = DEFAULT_DIR) -> None:
    """Write the JSON Schema of every event type and version."""
    names = write_schemas(directory)
    typer.echo(f"wrote {len(names)} schemas to {directory}")


@app.command("check")
def check(directory: SchemaDir = DEFAULT_DIR) -> None:
    """Exit 1 when the committed schemas differ from the models."""
    drift = compare_schemas(directory)
    problems = [(kind, name) for kind, names in drift.items() for name in names]
    for kind, name in problems:
        typer.echo(f"{kind}: {directory / name}", err=True)
    if problems:
        typer.echo("schemas drifted from the models: run `haven contracts export`", err=True)
        raise typer.Exit(1)
    typer.echo(f"{directory}: schemas match the models")
