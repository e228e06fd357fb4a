"""``haven worker [--role all|sealer|engine]``: the stream processors until Ctrl-C or SIGTERM.

``all`` (the default, what ``haven up`` starts) supervises a sealer process
and an engine process (:mod:`services.cli.worker.children`); ``sealer`` and
``engine`` run one role as a Faust worker, for deployments that place or
scale them apart.  The CLI's entry point runs a worker without this typer
command when its settings and infrastructure are fine
(:mod:`services.cli.worker.direct`); this command reports what is wrong.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from infra.logs import configure_logging
from infra.settings import WorkerSettings
from services.cli.context import endpoints_or_exit
from services.cli.worker.direct import supervise
from services.cli.worker.role import run_role


class RoleChoice(StrEnum):
    """What this process runs."""

    ALL = "all"
    SEALER = "sealer"
    ENGINE = "engine"


RoleOption = Annotated[
    RoleChoice,
    typer.Option(
        "--role",
        help="all: supervise a sealer and an engine process; sealer or engine: run that one",
    ),
]


def worker(role: RoleOption = RoleChoice.ALL) -> None:
    """Run the stream processors of this HAVEN_DATA_DIR's infrastructure."""
    settings = WorkerSettings()
    configure_logging(settings.log_level)
    endpoints = endpoints_or_exit(settings)  # a clear error now rather than children failing
    if role is RoleChoice.ALL:
        code = supervise(settings)
        if code:
            raise typer.Exit(code)
    else:
        run_role(settings, endpoints, role.value)
