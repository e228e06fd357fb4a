"""``haven agency add|list|rotate-token``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.settings import CliSettings
from projectors.directory.agencies import AgencyExists, AgencyNotFound, list_agencies, rotate_token
from projectors.directory.registration import InvalidAgency, register_agency
from services.cli.context import endpoints_or_exit, err_console, migrated_engine

app = typer.Typer(help="Register agencies and manage their API tokens.", no_args_is_help=True)


@app.command("add")
def add(
    agency_id: Annotated[str, typer.Option("--id", help="lower-case id, e.g. gr_police")],
    agency_type: Annotated[str, typer.Option("--type", help="coordinator, police, ...")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="ISO 3166-1 alpha-2")],
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
) -> None:
    """Register an agency; prints {"id": ..., "token": ...} (the token is shown once)."""
    settings = CliSettings()
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        try:
            registration = register_agency(
                engine,
                endpoints.bootstrap_servers,
                topic_prefix=settings.topic_prefix,
                partitions=settings.partitions,
                agency_id=agency_id,
                agency_type=agency_type,
                jurisdiction=jurisdiction,
                name=name,
            )
        except (InvalidAgency, AgencyExists) as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    typer.echo(json.dumps({"id": registration.event.agency_id, "token": registration.token.token}))


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """List registered agencies (never their tokens)."""
    endpoints = endpoints_or_exit(CliSettings())
    with migrated_engine(endpoints) as engine, engine.connect() as conn:
        agencies = list_agencies(conn)
    if as_json:
        for agency in agencies:
            typer.echo(
                json.dumps(
                    {
                        "id": agency.id,
                        "type": agency.agency_type,
                        "jurisdiction": agency.jurisdiction,
                        "name": agency.name,
                        "registered_at": agency.registered_at.isoformat(),
                    }
                )
            )
        return
    table = Table("id", "type", "jurisdiction", "name", "registered")
    for agency in agencies:
        table.add_row(
            agency.id,
            agency.agency_type,
            agency.jurisdiction,
            agency.name,
            agency.registered_at.isoformat(timespec="seconds"),
        )
    Console().print(table)


@app.command("rotate-token")
def rotate(
    agency_id: Annotated[str, typer.Option("--id")],
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="leave older tokens valid (revoke them later)")
    ] = False,
) -> None:
    """Issue a new token; older tokens stop working unless --keep-old."""
    endpoints = endpoints_or_exit(CliSettings())
    with migrated_engine(endpoints) as engine:
        try:
            issued = rotate_token(engine, agency_id, revoke_old=not keep_old)
        except AgencyNotFound as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    typer.echo(json.dumps({"id": agency_id, "token": issued.token}))
