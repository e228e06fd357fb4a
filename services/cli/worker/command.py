"""``haven worker [--role all|sealer|engine] [--share I/N]``: the stream processors.

They run until Ctrl-C or SIGTERM.  ``all`` (the default, what ``haven up``
starts) supervises a sealer process and ``HAVEN_ENGINE_PROCESSES`` engine
processes (:mod:`services.cli.worker.children`); ``sealer`` and ``engine``
run one role as a Faust worker, for deployments that place or scale them
apart.  ``--role engine --share I/N`` projects share I of N of the log's
partitions (:mod:`projectors.engine.share`) instead of joining the group.
"""

from __future__ import annotations

import logging
import signal
import threading
from enum import StrEnum
from types import FrameType
from typing import Annotated, cast

import faust
import typer

from events.topics import log_topic
from infra.logs import configure_logging, logging_dict_config
from infra.secrets import load_master_key
from infra.settings import WorkerSettings
from infra.topics import core_topics, ensure_topics, topic_partitions
from projectors.app import EnginePart, Role, create_app
from projectors.engine.share import Share
from projectors.outbox.activation import activate_policy
from projectors.policy.loader import default_policy_path, load_policy
from services.cli.context import endpoints_or_exit, migrated_engine
from services.cli.worker.children import RoleSupervisor, child_names, spawn_role

logger = logging.getLogger("haven.worker")


class RoleChoice(StrEnum):
    """What this process runs."""

    ALL = "all"
    SEALER = "sealer"
    ENGINE = "engine"


ShareOption = Annotated[
    str | None,
    typer.Option(
        "--share",
        help="with --role engine: project share I of N of the log's partitions (e.g. 0/2)",
    ),
]
RoleOption = Annotated[
    RoleChoice,
    typer.Option(
        "--role",
        help="all: supervise a sealer and the engine processes; sealer or engine: run one",
    ),
]


def _run_role(settings: WorkerSettings, role: Role, share: Share | None) -> None:
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        activate_policy(engine, load_policy(settings.policy_file or default_policy_path()))
    ensure_topics(
        endpoints.bootstrap_servers, core_topics(settings.topic_prefix, settings.partitions)
    )
    part = None
    if share is not None:
        available = topic_partitions(endpoints.bootstrap_servers, log_topic(settings.topic_prefix))
        part = EnginePart(share, tuple(share.partitions(available)))
        if not part.partitions:
            logger.warning(
                "engine share has no partitions: this process stays idle",
                extra={"share": str(share), "log_partitions": len(available)},
            )
    app = create_app(settings, endpoints, load_master_key(settings), role, part)
    faust.Worker(
        app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_dict_config(settings.log_level),
    ).execute_from_commandline()


def _supervise(settings: WorkerSettings) -> None:
    endpoints_or_exit(settings)  # a clear error now rather than children failing in turn
    stopping = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    children = child_names(settings.engine_process_count())
    supervisor = RoleSupervisor(children, spawn_role, stopping, settings.worker_stop_timeout_s)
    code = supervisor.run()
    if code:
        raise typer.Exit(code)


def _share(role: RoleChoice, given: str | None) -> Share | None:
    if given is None:
        return None
    if role is not RoleChoice.ENGINE:
        raise typer.BadParameter("only --role engine takes a share", param_hint="--share")
    try:
        return Share.parse(given)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--share") from None


def worker(role: RoleOption = RoleChoice.ALL, share: ShareOption = None) -> None:
    """Run the stream processors of this HAVEN_DATA_DIR's infrastructure."""
    settings = WorkerSettings()
    configure_logging(settings.log_level)
    engine_share = _share(role, share)
    if role is RoleChoice.ALL:
        _supervise(settings)
    else:
        _run_role(settings, cast(Role, role.value), engine_share)
