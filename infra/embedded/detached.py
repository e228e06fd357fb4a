"""Detached mode (``haven infra up|down|status``): the infra outlives the command.

The processes run in their own session with no death signal; the state file
is how later commands find, verify and stop them.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.embedded.lifecycle import Progress, Timings, start_infra, stop_recorded
from infra.embedded.paths import InfraPaths
from infra.embedded.postgres import stop_orphan
from infra.embedded.state import InfraState, locked, read_state, running_state, write_state


@dataclass(frozen=True)
class UpResult:
    """The running infra; ``timings`` is None when it was already running."""

    state: InfraState
    timings: Timings | None


def infra_up(paths: InfraPaths, *, timeout_s: float, progress: Progress | None = None) -> UpResult:
    """Start the detached infra of ``paths``, or return the one already running."""
    with locked(paths):
        state = running_state(paths)
        if state is not None:
            return UpResult(state, None)
        leftover = read_state(paths)
        if leftover is not None:  # one of the two died: restart both
            stop_recorded(paths, leftover)
        started = start_infra(paths, owned=False, timeout_s=timeout_s, progress=progress)
        write_state(paths, started.state)
        return UpResult(started.state, started.timings)


def infra_down(paths: InfraPaths) -> bool:
    """Stop the infra of ``paths`` (whoever started it); True if something ran.  Idempotent."""
    with locked(paths):
        was_running = stop_recorded(paths)
        stop_orphan(paths)
        return was_running


def infra_status(paths: InfraPaths) -> InfraState | None:
    """The verified running infra of ``paths``, or None (stale state is cleaned)."""
    return running_state(paths)
