"""``haven worker [--role all|sealer|engine] [--share I/N ...]``: the stream processors.

They run until Ctrl-C or SIGTERM.  ``all`` (the default, what ``haven up``
starts) supervises a sealer process and ``HAVEN_ENGINE_PROCESSES`` engine
processes running ``HAVEN_ENGINE_SHARES`` shares of the log
(:mod:`services.cli.worker.children`); ``sealer`` and ``engine`` run one
role as a Faust worker, for deployments that place or scale them apart.
``--role engine --share I/N`` projects share I of N of the log's partitions
(:mod:`projectors.engine.share`) instead of joining the group; given more
than once, the process projects each of those shares with a loop of its own.
The CLI's entry point runs a worker without this typer command when its
arguments, settings and infrastructure are fine
(:mod:`services.cli.worker.direct`); this command reports what is wrong.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from infra.logs import configure_logging
from infra.settings import WorkerSettings
from projectors.engine.share import Share, parse_shares, shares_text
from services.cli.context import endpoints_or_exit
from services.cli.worker.direct import supervise
from services.cli.worker.role import run_role


class RoleChoice(StrEnum):
    """What this process runs."""

    ALL = "all"
    SEALER = "sealer"
    ENGINE = "engine"


ShareOption = Annotated[
    list[str] | None,
    typer.Option(
        "--share",
        help="with --role engine: project share I of N of the log's partitions (e.g. 0/2);"
        " give it again for more shares in this process (0/2 and 1/2)",
    ),
]
RoleOption = Annotated[
    RoleChoice,
    typer.Option(
        "--role",
        help="all: supervise a sealer and the engine processes; sealer or engine: run one",
    ),
]


def _shares(role: RoleChoice, given: list[str] | None) -> tuple[Share, ...]:
    if not given:
        return ()
    if role is not RoleChoice.ENGINE:
        raise typer.BadParameter("only --role engine takes a share", param_hint="--share")
    try:
        return parse_shares(given)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--share") from None


def worker(role: RoleOption = RoleChoice.ALL, share: ShareOption = None) -> None:
    """Run the stream processors of this HAVEN_DATA_DIR's infrastructure."""
    settings = WorkerSettings()
    configure_logging(settings.log_level)
    shares = _shares(role, share)
    endpoints = endpoints_or_exit(settings)  # a clear error now rather than children failing
    if role is RoleChoice.ALL:
        supervise(settings)
    else:
        name = f"engine:{shares_text(shares)}" if shares else role.value
        run_role(settings, endpoints, name)
