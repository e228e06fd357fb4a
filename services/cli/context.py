"""Shared plumbing of CLI commands: endpoints and a migrated database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine

from infra.db import sync_engine
from infra.embedded import EmbeddedInfra
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


@contextmanager
def fresh_embedded_infra(settings: CommonSettings, name: str) -> Iterator[tuple[Endpoints, Engine]]:
    """Brand-new embedded broker + Postgres in ``$HAVEN_DATA_DIR/<name>`` (wiped first),
    with a migrated engine; both stop when the block ends (demo, bench)."""
    data_dir = settings.data_dir / name
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    with EmbeddedInfra(data_dir, timeout_s=60) as endpoints, migrated_engine(endpoints) as engine:
        yield endpoints, engine
