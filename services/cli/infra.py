"""``haven infra up|down|status``: the detached embedded broker and Postgres.

``up`` and ``status`` print exactly two lines on stdout::

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT
    DATABASE_URL=postgresql+psycopg://haven:PASSWORD@:PORT/haven?host=SOCKET_DIR

so ``eval "$(haven infra status)"`` works; everything for humans goes to stderr.  The
database URL names Postgres's Unix socket (``SOCKET_DIR``); the server also listens
on ``127.0.0.1:PORT`` for tools such as ``psql``.
"""

from __future__ import annotations

import time

import typer
from rich.console import Console

from infra.embedded import (
    BrokerError,
    InfraPaths,
    InfraState,
    PostgresError,
    infra_down,
    infra_status,
    infra_up,
)
from infra.settings import InfraSettings

app = typer.Typer(help="Embedded broker and Postgres of this HAVEN_DATA_DIR.", no_args_is_help=True)


def _paths() -> tuple[InfraSettings, InfraPaths]:
    settings = InfraSettings()
    return settings, InfraPaths.for_data_dir(settings.data_dir)


def _print_endpoints(state: InfraState) -> None:
    typer.echo(f"KAFKA_BOOTSTRAP_SERVERS={state.bootstrap_servers}")
    typer.echo(f"DATABASE_URL={state.database_url}")


def _describe(console: Console, state: InfraState) -> None:
    uptime = time.time() - state.started_at
    owner = f", owned by pid {state.owner_pid}" if state.owner_pid else ""
    console.print(
        f"embedded infra of {state.data_dir} running for {uptime:.0f}s{owner}: "
        f"tansu pid {state.broker.pid} port {state.broker.port}, "
        f"postgres pid {state.postgres.pid} port {state.postgres.port}",
        highlight=False,
    )


def _warn_overrides(console: Console, settings: InfraSettings) -> None:
    for name, value in (
        ("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers),
        ("DATABASE_URL", settings.database_url),
    ):
        if value:
            console.print(f"note: {name} is set and wins over the embedded infra", style="yellow")


@app.command()
def up() -> None:
    """Start the embedded broker and Postgres in the background (idempotent)."""
    settings, paths = _paths()
    console = Console(stderr=True)
    try:
        with console.status("starting embedded infra") as spinner:
            result = infra_up(
                paths, timeout_s=settings.start_timeout_s, progress=lambda msg: spinner.update(msg)
            )
    except (BrokerError, PostgresError, TimeoutError) as exc:
        console.print(f"haven infra up failed: {exc}", style="red", highlight=False)
        raise typer.Exit(1) from None
    if result.timings is None:
        console.print("already running", highlight=False)
    else:
        t = result.timings
        console.print(
            f"ready in {t.total_s:.2f}s (postgres cluster {t.initdb_s:.2f}s, "
            f"postgres {t.postgres_s:.2f}s, broker {t.broker_s:.2f}s)",
            highlight=False,
        )
    _describe(console, result.state)
    _warn_overrides(console, settings)
    _print_endpoints(result.state)


@app.command()
def status() -> None:
    """Print the endpoint lines of the running infra; exit 1 when it is not running."""
    settings, paths = _paths()
    console = Console(stderr=True)
    state = infra_status(paths)
    if state is None:
        console.print(
            f"embedded infra of {paths.data_dir} is not running: run `haven infra up`",
            highlight=False,
        )
        raise typer.Exit(1)
    _describe(console, state)
    _warn_overrides(console, settings)
    _print_endpoints(state)


@app.command()
def down() -> None:
    """Stop the embedded broker and Postgres of this data dir (idempotent)."""
    _settings, paths = _paths()
    console = Console(stderr=True)
    with console.status("stopping embedded infra"):
        was_running = infra_down(paths)
    message = "stopped" if was_running else "was not running"
    console.print(f"embedded infra of {paths.data_dir} {message}", highlight=False)
