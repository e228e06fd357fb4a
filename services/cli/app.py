"""Composition root of the ``haven`` CLI: registers every command group.

Imported by :mod:`services.cli.main` when a command needs it (every command
but ``haven worker``, which starts without the rest of the CLI).
"""

from __future__ import annotations

import os

import typer
from pydantic import ValidationError

from events.kafka_security import configure_kafka
from infra.logs import configure_logging
from infra.settings import CommonSettings
from services.cli import (
    agency,
    api,
    audit,
    bench,
    contracts,
    demo,
    engine,
    infra,
    projector,
    publish,
    subject,
    up,
)
from services.cli.context import fail, settings_problem
from services.cli.worker.command import worker

app = typer.Typer(
    name="haven",
    help="Haven: consent-driven interagency coordination for trafficking survivors.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _configure() -> None:
    """Logs on stderr (HAVEN_LOG_LEVEL, default WARNING); Kafka client settings checked."""
    configure_logging(os.environ.get("HAVEN_LOG_LEVEL", "WARNING"))
    try:
        configure_kafka(CommonSettings().kafka_security())
    except ValidationError as exc:
        fail(f"invalid settings: {settings_problem(exc)}", 2)


app.add_typer(infra.app, name="infra")
app.add_typer(contracts.app, name="contracts")
app.add_typer(agency.app, name="agency")
app.add_typer(projector.app, name="projector")
app.add_typer(audit.app, name="audit")
app.add_typer(engine.app, name="engine")
app.add_typer(subject.app, name="subject")
app.command("worker")(worker)
app.command("up")(up.up)
app.command("api")(api.api)
app.command("publish")(publish.publish)
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
