"""Several service loops run as one: an engine process's loops, one per share.

Each share's loop has its own consumer, batches and database pool; run on one
event loop, one share decides while another's batch waits for Postgres (the
database work runs in threads).  The first loop that fails stops the others
and its error is raised, so the process fails as it would with one loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from projectors.runtime.loop_thread import Loop


@dataclass
class Together:
    """``loops`` run together until all have finished, or one fails."""

    loops: Sequence[Loop]

    async def run(self) -> None:
        """Run every loop; on the first failure stop the others, wait for them, raise it."""
        tasks = [asyncio.ensure_future(loop.run()) for loop in self.loops]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:  # a failure, or this task cancelled: the others stop too
            if not all(task.done() for task in tasks):
                self.stop()
            await asyncio.wait(tasks)
        for task in tasks:
            if error := task.exception():
                raise error

    def stop(self) -> None:
        """Ask every loop to finish."""
        for loop in self.loops:
            loop.stop()
