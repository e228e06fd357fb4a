"""``haven infra up|down|status``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Embedded broker and Postgres of this HAVEN_DATA_DIR.", no_args_is_help=True)
