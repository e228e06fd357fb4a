"""``haven agency add|list|rotate-token`` and ``haven agency webhook set|show|clear``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from events.types import AgencyType
from infra.migrate import migrated_engine
from infra.settings import CliSettings, parse_duration
from projectors.directory.agencies import AgencyExists, AgencyNotFound, list_agencies, rotate_token
from projectors.directory.registration import InvalidAgency, register_agency, validate_agency
from services.cli.context import endpoints_or_exit, fail
from services.cli.webhook import app as webhook_app

app = typer.Typer(
    help="Register agencies, manage their API tokens and webhooks.", no_args_is_help=True
)
app.add_typer(webhook_app, name="webhook")

AgencyId = Annotated[str, typer.Option("--id", help="the agency's id, e.g. gr_police")]
_DURATION_HELP = "seconds, or a number with a unit: 90s, 30m, 72h, 3d"


def duration_s(value: str | None, option: str) -> float | None:
    """Seconds of a duration option, or a readable error and exit 2."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError:
        fail(f"{option}: {_DURATION_HELP}", 2)
    if seconds < 0:
        fail(f"{option}: must not be negative", 2)
    return seconds


@app.command("add")
def add(
    agency_id: Annotated[
        str,
        typer.Option(
            "--id",
            help="a lower-case letter, then 1 to 39 lower-case letters, digits or _",
        ),
    ],
    agency_type: Annotated[
        AgencyType, typer.Option("--type", help="the kind of agency", case_sensitive=False)
    ],
    jurisdiction: Annotated[
        str, typer.Option("--jurisdiction", help="ISO 3166-1 alpha-2 country code, e.g. GR")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="display name (default: the id)")
    ] = None,
    token_expires_in: Annotated[
        str | None,
        typer.Option("--token-expires-in", help=f"the token's lifetime ({_DURATION_HELP})"),
    ] = None,
) -> None:
    """Register an agency; prints {"id": ..., "token": ...} (the token is shown once)."""
    settings = CliSettings()
    expires_s = duration_s(token_expires_in, "--token-expires-in")
    try:  # a readable refusal before anything is started or connected
        validate_agency(agency_id, agency_type.value, jurisdiction.upper(), name or agency_id)
    except InvalidAgency as exc:
        fail(exc, 2)
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        try:
            registration = register_agency(
                engine,
                endpoints.bootstrap_servers,
                topic_prefix=settings.topic_prefix,
                partitions=settings.partitions,
                agency_id=agency_id,
                agency_type=agency_type.value,
                jurisdiction=jurisdiction,
                name=name,
                token_expires_in_s=expires_s,
            )
        except (InvalidAgency, AgencyExists) as exc:
            fail(exc)
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
    agency_id: AgencyId,
    overlap: Annotated[
        str,
        typer.Option(
            "--overlap", help=f"how long older tokens stay valid ({_DURATION_HELP}; 0: revoke now)"
        ),
    ] = "0",
    expires_in: Annotated[
        str | None,
        typer.Option("--expires-in", help=f"the new token's lifetime ({_DURATION_HELP})"),
    ] = None,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="leave older tokens valid with no end")
    ] = False,
) -> None:
    """Issue a new token; older tokens stop working after --overlap (at once by default)."""
    overlap_s = None if keep_old else duration_s(overlap, "--overlap")
    expires_s = duration_s(expires_in, "--expires-in")
    endpoints = endpoints_or_exit(CliSettings())
    with migrated_engine(endpoints) as engine:
        try:
            issued = rotate_token(engine, agency_id, overlap_s=overlap_s, expires_in_s=expires_s)
        except AgencyNotFound as exc:
            fail(exc)
    typer.echo(json.dumps({"id": agency_id, "token": issued.token}))
