"""Shared plumbing of CLI commands: endpoints and a migrated database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from infra.embedded import EmbeddedInfra
from infra.endpoints import Endpoints, InfraNotRunning, resolve_endpoints
from infra.migrate import migrated_engine
from infra.settings import CommonSettings

err_console = Console(stderr=True)


def print_error(message: object, label: str = "error") -> None:
    """``<label>: <message>`` in red on stderr; the message is escaped, never read as markup."""
    err_console.print(f"[red]{escape(label)}:[/red] {escape(str(message))}", highlight=False)


def fail(message: object, code: int = 1) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def settings_problem(exc: ValidationError) -> str:
    """A settings error in one line per field: ``<field>: <why>`` (values never shown)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
    )


def endpoints_or_exit(settings: CommonSettings) -> Endpoints:
    """The infrastructure of this data dir, or a clear message and exit code 2."""
    try:
        return resolve_endpoints(settings)
    except InfraNotRunning as exc:
        fail(exc, 2)


@contextmanager
def fresh_embedded_infra(settings: CommonSettings, name: str) -> Iterator[tuple[Endpoints, Engine]]:
    """Brand-new embedded broker + Postgres in ``$HAVEN_DATA_DIR/<name>`` (wiped first),
    with a migrated engine; both stop when the block ends (demo, bench)."""
    data_dir = settings.data_dir / name
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    with EmbeddedInfra(data_dir, timeout_s=60) as endpoints, migrated_engine(endpoints) as engine:
        yield endpoints, engine
