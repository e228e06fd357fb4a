"""``haven agency webhook set|show|clear``: an agency's endpoint for notices and dead letters."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from infra.migrate import migrated_engine
from infra.secrets import load_master_key
from infra.settings import CliSettings
from projectors.directory.agencies import AgencyNotFound
from projectors.directory.webhooks import InvalidWebhook, check_url, clear_webhook, set_webhook
from projectors.outbox.webhooks import webhook_state
from services.cli.context import endpoints_or_exit, fail

app = typer.Typer(
    help="The agency's webhook: notices and its own dead letters, POSTed as signed CloudEvents.",
    no_args_is_help=True,
)
AgencyId = Annotated[str, typer.Option("--id", help="the agency's id, e.g. gr_police")]


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else v)


@app.command("set")
def set_command(
    agency_id: AgencyId,
    url: Annotated[
        str, typer.Option("--url", help="https:// endpoint (http:// allowed in development)")
    ],
) -> None:
    """Register or replace the endpoint; prints the new signing secret (shown once)."""
    settings = CliSettings()
    try:
        check_url(url, allow_http=not settings.is_production)
    except InvalidWebhook as exc:
        fail(exc, 2)
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        try:
            secret = set_webhook(engine, load_master_key(settings), agency_id, url)
        except AgencyNotFound as exc:
            fail(exc)
    typer.echo(_json({"id": agency_id, "url": url, "secret": secret}))


@app.command("show")
def show(agency_id: AgencyId) -> None:
    """The endpoint and its delivery state (never the secret)."""
    endpoints = endpoints_or_exit(CliSettings())
    with migrated_engine(endpoints) as engine, engine.connect() as conn:
        state = webhook_state(conn, agency_id)
    if state is None:
        fail(f"agency {agency_id!r} has no webhook")
    typer.echo(_json({"id": agency_id, **state}))


@app.command("clear")
def clear(agency_id: AgencyId) -> None:
    """Remove the endpoint and its pending deliveries (notices stay readable over HTTP)."""
    endpoints = endpoints_or_exit(CliSettings())
    with migrated_engine(endpoints) as engine:
        try:
            removed = clear_webhook(engine, agency_id)
        except AgencyNotFound as exc:
            fail(exc)
    typer.echo(_json({"id": agency_id, "cleared": removed}))
