"""``haven demo``: the scripted scenario on its own embedded infrastructure.

The demo always runs on a fresh embedded broker and Postgres in
``$HAVEN_DATA_DIR/demo`` (wiped first), started and stopped by the demo
itself, so it never touches real data and leaves no process behind.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from infra.secrets import load_master_key
from infra.settings import CliSettings
from services.cli.context import fresh_embedded_infra
from services.demo.run import run_demo


def demo(
    background: Annotated[
        int, typer.Option("--background", help="CTDC-derived background events")
    ] = 500,
) -> None:
    """Run the scripted cross-border scenario (sealed log, DLQ, crypto-shredding)."""
    settings = CliSettings()
    console = Console(width=max(Console().width, 110))
    started = time.perf_counter()
    console.print(Rule("Haven demo"))
    with fresh_embedded_infra(settings, "demo") as (endpoints, engine):
        console.print(f"embedded broker + Postgres ready in {time.perf_counter() - started:.1f}s")
        run_demo(console, endpoints, engine, load_master_key(settings), "haven", background)
    console.print(
        Rule(f"demo done in {time.perf_counter() - started:.1f}s; infrastructure stopped")
    )
