"""``haven worker`` without the rest of the CLI: what the worker's processes import.

:func:`worker_role` recognises the command lines ``haven worker``,
``haven worker --role ROLE``, ``--role=ROLE`` and ``--role engine --share
I/N [--share J/N ...]`` (the supervisor's engine children); :func:`run_worker` then
runs it with this module's few imports (settings, logging) and, in a role's
child, that role's stream processors only (:mod:`services.cli.worker.role`);
``--role all`` checks the settings, then becomes the supervisor
(:mod:`services.cli.worker.supervisor`), which imports less still.
Settings that do not validate or an infrastructure that is not running make
it return ``None``: the typer command then runs and reports them as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from events.kafka_security import configure_kafka
from infra.endpoints import InfraNotRunning, resolve_endpoints
from infra.logs import configure_logging
from infra.settings import WorkerSettings
from projectors.engine.share import parse_shares, shares_text
from projectors.runtime.roles import ROLES
from services.cli.worker.supervisor import exec_supervisor

ALL = "all"


def _shares(options: Sequence[str]) -> str | None:
    """``0/2,1/2`` for ``--share 0/2 --share 1/2`` (shares one process may run), else None."""
    texts = options[1::2]
    if not texts or len(options) != 2 * len(texts) or set(options[::2]) != {"--share"}:
        return None
    try:
        return shares_text(parse_shares(texts))
    except ValueError:
        return None


def worker_role(argv: Sequence[str]) -> str | None:
    """The role these arguments (after the program name) ask ``haven worker`` to run
    (``engine:I/N[,J/N...]`` for an engine process's shares)."""
    match list(argv):
        case ["worker", "--role", "engine", *options] if shares := _shares(options):
            return f"engine:{shares}"
        case ["worker"]:
            return ALL
        case ["worker", "--role", role] if role in (ALL, *ROLES):
            return role
        case ["worker", option] if option.removeprefix("--role=") in (ALL, *ROLES):
            return option.removeprefix("--role=")
    return None


def supervise(settings: WorkerSettings) -> NoReturn:
    """Become the supervisor of every role's child process (never returns)."""
    exec_supervisor(
        settings.engine_share_count(),
        settings.engine_process_count(),
        settings.worker_stop_timeout_s,
        settings.log_level,
    )


def run_worker(role: str) -> int | None:
    """Run ``role`` (``all``, ``sealer``, ``engine`` or ``engine:I/N[,...]``); ``None`` when
    the CLI should."""
    try:
        settings = WorkerSettings()
        configure_kafka(settings.kafka_security())
        endpoints = resolve_endpoints(settings)
    except (ValueError, InfraNotRunning):  # pydantic's ValidationError is a ValueError
        return None
    configure_logging(settings.log_level)
    if role == ALL:
        supervise(settings)
    from services.cli.worker.role import run_role  # the stream processors: this role only

    run_role(settings, endpoints, role)
    return 0
