"""The supervisor of ``haven worker --role all``, once its settings were checked.

``haven worker`` checks its settings (pydantic) and the infrastructure, then
replaces its own program with this module (``exec``: the same process, so
``haven up``, signals and the children's death signal still find it), given
on the command line the few values a supervisor needs.  It then imports the
roles' code once and forks each child from it
(:mod:`services.cli.worker.forked`), at the start and at every restart; each
child checks the settings again itself.  Run as ``python -m
services.cli.worker.supervisor SHARES PROCESSES STOP_TIMEOUT_S LOG_LEVEL``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from infra.logs import configure_logging
from services.cli.worker.children import RoleSupervisor, child_names
from services.cli.worker.forked import fork_role, preload


def exec_supervisor(shares: int, processes: int, stop_timeout_s: float, log_level: str) -> NoReturn:
    """Become the supervisor (never returns: this process runs this module instead)."""
    logging.shutdown()  # what was logged so far is written before the program goes
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [str(shares), str(processes), repr(stop_timeout_s), log_level]
    os.execv(sys.executable, [sys.executable, "-m", __name__, *argv])  # noqa: S606 (no shell)


def supervise(shares: int, processes: int, stop_timeout_s: float) -> int:
    """Run every role as a child process until SIGTERM or SIGINT; the exit code."""
    stopping = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    preload()
    return RoleSupervisor(child_names(shares, processes), fork_role, stopping, stop_timeout_s).run()


def main(argv: Sequence[str]) -> int:
    """``SHARES PROCESSES STOP_TIMEOUT_S LOG_LEVEL``, as :func:`exec_supervisor` gives them."""
    shares, processes, stop_timeout_s, log_level = argv
    configure_logging(log_level)
    return supervise(int(shares), int(processes), float(stop_timeout_s))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
