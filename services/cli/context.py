"""Shared plumbing of CLI commands: endpoints and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine

from infra.db import sync_engine
from infra.endpoints import Endpoints, InfraNotRunning, resolve_endpoints
from infra.migrate import migrate
from infra.settings import CommonSettings

err_console = Console(stderr=True)


def endpoints_or_exit(settings: CommonSettings) -> Endpoints:
    """The infrastructure of this data dir, or a clear message and exit code 2."""
    try:
        return resolve_endpoints(settings)
    except InfraNotRunning as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def migrated_engine(endpoints: Endpoints) -> Iterator[Engine]:
    """An engine on the configured database with every migration applied."""
    engine = sync_engine(endpoints.database_url, pool_size=2)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
