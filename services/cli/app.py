"""Composition root of the ``haven`` CLI: every command, imported only when it runs.

:data:`COMMANDS` names each top-level command and where it lives.  The
console script (:mod:`services.cli.main`) builds the app with just the
command on its command line (:func:`build_app`), so ``haven agency add``
imports the agency commands and not the API, the bench or the stream
processors: about 1.2 s to start on the development machine instead of 3.3.
A command line that names no known command (``haven``, ``haven --help``,
a typo, shell completion) gets every command, so help and "No such command"
read as before.  ``app`` (every command) is there for in-process callers
such as tests.  ``haven worker`` usually starts without this module at all
(:mod:`services.cli.worker.direct`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from functools import cache

import typer
from pydantic import ValidationError

from events.kafka_security import configure_kafka
from infra.logs import configure_logging
from infra.settings import CommonSettings
from services.cli.context import fail, settings_problem

__all__ = ["COMMANDS", "build_app", "command_named"]

#: Each top-level command, in help order: its module and what it registers there,
#: a group (a ``typer.Typer``) or one command's function.
COMMANDS: dict[str, tuple[str, str]] = {
    "infra": ("services.cli.infra", "app"),
    "contracts": ("services.cli.contracts", "app"),
    "agency": ("services.cli.agency", "app"),
    "projector": ("services.cli.projector", "app"),
    "audit": ("services.cli.audit", "app"),
    "engine": ("services.cli.engine", "app"),
    "subject": ("services.cli.subject", "app"),
    "worker": ("services.cli.worker.command", "worker"),
    "up": ("services.cli.up", "up"),
    "api": ("services.cli.api", "api"),
    "publish": ("services.cli.publish", "publish"),
    "demo": ("services.cli.demo", "demo"),
    "bench": ("services.cli.bench", "bench"),
}


def _configure() -> None:
    """Logs on stderr (HAVEN_LOG_LEVEL, default WARNING); Kafka client settings checked."""
    configure_logging(os.environ.get("HAVEN_LOG_LEVEL", "WARNING"))
    try:
        configure_kafka(CommonSettings().kafka_security())
    except ValidationError as exc:
        fail(f"invalid settings: {settings_problem(exc)}", 2)


def command_named(argv: Sequence[str]) -> str | None:
    """The command a command line runs (its first word), or None when it names none."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def build_app(only: str | None = None) -> typer.Typer:
    """The ``haven`` app with the command ``only``, or with every command."""
    app = typer.Typer(
        name="haven",
        help="Haven: consent-driven interagency coordination for trafficking survivors.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(_configure)
    for name in [only] if only is not None else COMMANDS:
        module, attribute = COMMANDS[name]
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            app.add_typer(found, name=name)
        else:
            app.command(name)(found)
    return app


@cache
def _every_command() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    """``app``: every command, built on first use."""
    if name == "app":
        return _every_command()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
