"""``haven worker`` without the rest of the CLI: what the worker's processes import.

:func:`worker_role` recognises the command lines ``haven worker``,
``haven worker --role ROLE``, ``--role=ROLE`` and ``--role engine --share
I/N`` (the supervisor's engine children); :func:`run_worker` then
runs it with this module's few imports (settings, logging, the supervisor's
children) and, in a role's child, that role's stream processors only
(:mod:`services.cli.worker.role`).  The supervisor so holds tens of MB
instead of the whole CLI's hundred-odd.  Settings that do not validate or an
infrastructure that is not running make it return ``None``: the typer
command then runs and reports them as before.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType

from events.kafka_security import configure_kafka
from infra.endpoints import InfraNotRunning, resolve_endpoints
from infra.logs import configure_logging
from infra.settings import WorkerSettings
from projectors.engine.share import Share
from projectors.runtime.roles import ROLES
from services.cli.worker.children import RoleSupervisor, child_names, spawn_role

ALL = "all"


def _share(text: str) -> bool:
    """Whether ``text`` is a share (``I/N``, ``0 <= I < N``)."""
    try:
        Share.parse(text)
    except ValueError:
        return False
    return True


def worker_role(argv: Sequence[str]) -> str | None:
    """The role these arguments (after the program name) ask ``haven worker`` to run
    (``engine:I/N`` for an engine share)."""
    match list(argv):
        case ["worker", "--role", "engine", "--share", share] if _share(share):
            return f"engine:{share}"
        case ["worker"]:
            return ALL
        case ["worker", "--role", role] if role in (ALL, *ROLES):
            return role
        case ["worker", option] if option.removeprefix("--role=") in (ALL, *ROLES):
            return option.removeprefix("--role=")
    return None


def supervise(settings: WorkerSettings) -> int:
    """Run every role as a child process until SIGTERM or SIGINT; the exit code."""
    stopping = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    children = child_names(settings.engine_process_count())
    return RoleSupervisor(children, spawn_role, stopping, settings.worker_stop_timeout_s).run()


def run_worker(role: str) -> int | None:
    """Run ``role`` (``all``, ``sealer``, ``engine`` or ``engine:I/N``); ``None`` when
    the CLI should."""
    try:
        settings = WorkerSettings()
        configure_kafka(settings.kafka_security())
        endpoints = resolve_endpoints(settings)
    except (ValueError, InfraNotRunning):  # pydantic's ValidationError is a ValueError
        return None
    configure_logging(settings.log_level)
    if role == ALL:
        return supervise(settings)
    from services.cli.worker.role import run_role  # the stream processors: this role only

    run_role(settings, endpoints, role)
    return 0
