"""One engine process's share of the log's partitions: ``index/count``.

``haven worker`` can run the engine in several processes, each on a core of
its own; process ``i`` of ``n`` projects the partitions ``p`` with
``p % n == i``, assigned by hand (no consumer group, so no rebalance wait).
Partitions are independent (a subject never spans two, every system event
is in every one), and every batch is still fenced in Postgres, so a second
process reading the same partition only loses its batches to the fence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_FORM = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Share:
    """Process ``index`` (from 0) of ``count`` engine processes."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError("a share is INDEX/COUNT with 0 <= INDEX < COUNT")

    @classmethod
    def parse(cls, text: str) -> Share:
        """``"1/2"`` as a share (ValueError when malformed)."""
        match = _FORM.fullmatch(text.strip())
        if match is None:
            raise ValueError("a share is INDEX/COUNT, e.g. 0/2")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def runs_once_only_work(self) -> bool:
        """Whether this process also runs what must run once (the scheduler)."""
        return self.index == 0

    def partitions(self, available: Iterable[int]) -> list[int]:
        """This share of ``available`` partitions, in order."""
        return sorted(p for p in available if p % self.count == self.index)


def all_shares(count: int) -> list[Share]:
    """The ``count`` shares that together cover every partition once."""
    return [Share(index, count) for index in range(count)]
