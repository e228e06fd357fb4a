"""A share of the log's partitions for one engine loop: ``index/count``.

``haven worker`` splits the log's partitions into shares; share ``i`` of
``n`` projects the partitions ``p`` with ``p % n == i``, assigned by hand
(no consumer group, so no rebalance wait), with a consumer, batches and
database pool of its own.  The shares run in one or more engine processes
(:func:`spread`): in one process, one share decides while another waits for
Postgres, without a second copy of the imported code but on one GIL.
Partitions are independent (a subject never spans two, every system event is
in every one), and every batch is still fenced in Postgres, so a second loop
reading the same partition only loses its batches to the fence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_FORM = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Share:
    """Share ``index`` (from 0) of ``count`` shares of the log's partitions."""

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
        """Whether the process of this share also runs what must run once (the scheduler)."""
        return self.index == 0

    def partitions(self, available: Iterable[int]) -> list[int]:
        """This share of ``available`` partitions, in order."""
        return sorted(p for p in available if p % self.count == self.index)


def all_shares(count: int) -> list[Share]:
    """The ``count`` shares that together cover every partition once."""
    return [Share(index, count) for index in range(count)]


def parse_shares(texts: Iterable[str]) -> tuple[Share, ...]:
    """The shares one engine process runs (``--share`` given once or more); ValueError
    when one is malformed, or they repeat or do not split the log the same way."""
    shares = tuple(Share.parse(text) for text in texts)
    if len({share.count for share in shares}) > 1 or len(set(shares)) < len(shares):
        raise ValueError("the shares of one process are distinct and of one count, e.g. 0/2 1/2")
    return shares


def shares_text(shares: Iterable[Share]) -> str:
    """``0/2,1/2``: the shares of one engine process as its child name carries them
    (read back with ``parse_shares(text.split(","))``)."""
    return ",".join(map(str, shares))


def spread(count: int, processes: int) -> list[tuple[Share, ...]]:
    """The ``count`` shares over at most ``processes`` processes, round robin: share ``i``
    runs in process ``i % processes``."""
    shares = all_shares(count)
    return [tuple(shares[first::processes]) for first in range(min(processes, count))]
