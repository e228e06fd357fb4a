"""``haven contracts export|check``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate and check the committed contracts/.", no_args_is_help=True)
