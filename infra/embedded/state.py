"""``<data_dir>/infra/state.json``: what is running for one data dir.

The file holds the database URL with its password, so it is written with
mode 0600.  A state whose processes are gone (or whose pids now belong to
other processes) is stale and removed on read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from infra.embedded.paths import InfraPaths
from infra.embedded.processes import is_running
from infra.files import replace_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessRecord:
    """One child process: pid, kernel start time, executable name and port."""

    pid: int
    create_time: float
    name: str
    port: int

    def alive(self) -> bool:
        """True when this very process (not a recycled pid) is still running."""
        return is_running(self.pid, self.create_time, self.name)


@dataclass(frozen=True)
class InfraState:
    """The running embedded infra of one data dir."""

    data_dir: str
    broker: ProcessRecord
    postgres: ProcessRecord
    bootstrap_servers: str
    database_url: str
    owner_pid: int | None
    started_at: float

    def alive(self) -> bool:
        """True when both processes are the recorded ones and still running."""
        return self.broker.alive() and self.postgres.alive()

    def to_json(self) -> str:
        """Serialise (contains the DB password: write with mode 0600 only)."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> InfraState:
        """Parse the output of ``to_json``; raises ``KeyError``/``TypeError`` when malformed."""
        fields = dict(raw)
        fields["broker"] = ProcessRecord(**raw["broker"])
        fields["postgres"] = ProcessRecord(**raw["postgres"])
        return cls(**fields)


def write_state(paths: InfraPaths, state: InfraState) -> None:
    """Atomically replace the state file (mode 0600)."""
    replace_file(paths.state_file, state.to_json())


def read_state(paths: InfraPaths) -> InfraState | None:
    """The recorded state, alive or not; None when absent or unreadable."""
    try:
        raw = json.loads(paths.state_file.read_text(encoding="utf-8"))
        return InfraState.from_dict(raw)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        logger.warning("infra state unreadable", extra={"path": str(paths.state_file)})
        return None


def remove_state(paths: InfraPaths) -> None:
    """Delete the state file if present."""
    paths.state_file.unlink(missing_ok=True)


def running_state(paths: InfraPaths) -> InfraState | None:
    """The state if its processes are verifiably running; a stale file is removed.

    A half-dead state (one process gone) is returned as None but kept, so that
    ``down`` can still stop the surviving process.
    """
    state = read_state(paths)
    if state is None:
        return None
    if state.alive():
        return state
    if not state.broker.alive() and not state.postgres.alive():
        logger.info("infra state stale, removed", extra={"path": str(paths.state_file)})
        remove_state(paths)
    return None


@contextlib.contextmanager
def locked(paths: InfraPaths) -> Iterator[None]:
    """Hold the data dir's infra lock (serialises ``up``/``down``/foreground start)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
