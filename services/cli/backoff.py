"""Restart backoff shared by ``haven up`` and ``haven worker``'s supervisors.

A module of its own (standard library only) so that the worker's supervisor
process, which imports little, need not import ``haven up``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class Backoff:
    """Delay before the next restart of one part."""

    failures: int = 0
    last_restart: float = field(default=-1e9)

    def delay(self, now: float) -> float:
        """Seconds to wait now; counts this restart."""
        if now - self.last_restart > STABLE_AFTER_S:
            self.failures = 0
        delay: float = min(FIRST_DELAY_S * 2.0**self.failures, MAX_DELAY_S)
        self.failures += 1
        self.last_restart = now + delay
        return delay
