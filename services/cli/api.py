"""``haven api``: the HTTP API alone, against running infrastructure and workers."""

from __future__ import annotations

import contextlib
import signal
from typing import Annotated

import typer
from rich.console import Console

from infra.logs import configure_logging
from infra.migrate import migrated_engine
from infra.secrets import load_master_key
from infra.settings import ApiSettings
from services.api.serve import api_server, build_context
from services.cli.context import endpoints_or_exit

ApiPort = Annotated[int | None, typer.Option(help="API port (default HAVEN_API_PORT or 8080)")]


def api(port: ApiPort = None) -> None:
    """Serve the HTTP API only (run `haven worker` or `haven up` elsewhere for the pipeline)."""
    settings = ApiSettings()
    configure_logging(settings.log_level)
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints):
        pass  # the schema the API reads must be current
    server = api_server(
        settings,
        build_context(settings, endpoints, load_master_key(settings)),
        port or settings.api_port,
    )
    Console(stderr=True).print(
        f"[green]haven api[/green]: http://{settings.api_host}:{server.config.port}",
        highlight=False,
    )
    # uvicorn drains on SIGTERM, then raises it again: let that end the command with 0.
    signal.signal(signal.SIGTERM, _exit)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        server.run()


def _exit(*_: object) -> None:
    raise SystemExit(0)
