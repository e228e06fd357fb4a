"""How long a stopping loop may go on: its drain bound, less the work it would start.

A loop told to stop drains what it still has for at most ``budget_s``.  It
checks the bound between batches, so a batch begun just before the bound
would end after it, and a supervisor that kills at its own deadline would
kill it mid-batch (nothing is lost, the batch rolls back, but the stop is not
clean).  So the loop ends as soon as the longest batch it ran lately would
not fit in what is left.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Drain:
    """The drain bound of one loop: started once on stop, fed each batch's duration."""

    def __init__(
        self, budget_s: float, *, recent: int = 8, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._budget_s = budget_s
        self._clock = clock
        self._until: float | None = None
        self._batches: deque[float] = deque(maxlen=recent)

    @property
    def started(self) -> bool:
        """Whether the loop was told to stop."""
        return self._until is not None

    def start(self) -> None:
        """The stop arrived: the bound counts from now (later calls change nothing)."""
        if self._until is None:
            self._until = self._clock() + self._budget_s

    def ran(self, elapsed_s: float) -> None:
        """One batch took ``elapsed_s``."""
        self._batches.append(elapsed_s)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Time the block as one batch (:meth:`ran`)."""
        started = self._clock()
        try:
            yield
        finally:
            self.ran(self._clock() - started)

    def over(self) -> bool:
        """Stopping, and the longest recent batch would end past the bound."""
        if self._until is None:
            return False
        return self._clock() + max(self._batches, default=0.0) > self._until


__all__ = ["Drain"]
