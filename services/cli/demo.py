"""``haven demo``: the scripted cross-border case on its own embedded infrastructure.

The demo always runs on a fresh embedded broker and Postgres in
``$HAVEN_DATA_DIR/demo`` (wiped first), started and stopped by the demo
itself, so it never touches real data and leaves no process behind.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from infra.secrets import load_master_key
from infra.settings import CliSettings
from services.cli.context import fresh_embedded_infra, print_error
from services.demo.pipeline import DemoFailed
from services.demo.run import DemoRun
from services.scenarios.ctdc import CtdcDataMissing


def _console() -> Console:
    """The terminal's width; 140 columns when writing to a file or pipe (COLUMNS wins)."""
    plain = Console()
    return plain if plain.is_terminal or "COLUMNS" in os.environ else Console(width=140)


def demo(
    background: Annotated[
        int, typer.Option("--background", min=0, help="CTDC-derived background events")
    ] = 3000,
    report: Annotated[
        Path | None, typer.Option("--report", help="also write what was found as JSON")
    ] = None,
) -> None:
    """Play a cross-border case (GR, IT, DE) on the real pipeline and show who sees what."""
    settings = CliSettings()
    logging.getLogger("kafka").setLevel(logging.ERROR)  # client chatter, not the story
    console = _console()
    started = time.perf_counter()
    console.print(Rule("Haven demo: one survivor, three countries, her consent decides"))
    try:
        with fresh_embedded_infra(settings, "demo") as (endpoints, engine):
            console.print(
                f"embedded broker + Postgres ready in {time.perf_counter() - started:.1f}s"
            )
            found = DemoRun(console, endpoints, engine, load_master_key(settings)).run(background)
    except (DemoFailed, CtdcDataMissing) as exc:
        print_error(exc, "demo failed")
        raise typer.Exit(1) from exc
    if report is not None:
        found.write(report)
    elapsed = time.perf_counter() - started
    verdict = "every check held" if found.ok else "[red]some checks FAILED[/red]"
    console.print(Rule(f"demo done in {elapsed:.1f}s: {verdict}; infrastructure stopped"))
    raise typer.Exit(0 if found.ok else 1)
