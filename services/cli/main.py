"""Entry point of the ``haven`` CLI (the console script and ``python -m services.cli.main``).

``haven worker`` runs without importing the rest of the CLI
(:mod:`services.cli.worker.direct`): its supervisor only spawns and watches
two children, and each child imports only its role's code, so none of them
holds typer, rich or the other commands in memory.  Every other command, and
a worker whose settings or infrastructure are wrong (so the CLI says what is
wrong, as before), goes through the typer app of :mod:`services.cli.app`, built
with only the command the command line names.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from services.cli.worker.direct import run_worker, worker_role

if TYPE_CHECKING:
    from typer import Typer


def __getattr__(name: str) -> Typer:
    """``app``, imported on first use."""
    if name == "app":
        from services.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    role = worker_role(sys.argv[1:])
    if role is not None and (code := run_worker(role)) is not None:
        sys.exit(code)
    from services.cli.app import build_app, command_named

    build_app(command_named(sys.argv[1:]))()


if __name__ == "__main__":
    main()
