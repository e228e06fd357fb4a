"""Which inbox partitions the sealer reads: assigned by hand, never by a consumer group.

A group subscription by pattern would take a new agency's inbox in through a
rebalance, which pauses every partition (the embedded broker makes each join
wait for the rebalance timeout).  Instead the sealer assigns itself every
inbox partition the broker has and looks again whenever the agency directory
names an agency whose inbox it does not read yet (polled every ``poll_s``),
and every ``sweep_s`` in any case, so an inbox without a registered agency
is still read (its records go to the DLQ as ``unknown_agency``).  Positions
come from Postgres after every change, as before; two sealers reading the
same partitions stay correct, because each batch advances its positions
only from where that sealer found them (``PositionMoved`` otherwise).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from events.topics import inbox_pattern, inbox_topic


class InboxWatch:
    """Tells the sealer when the set of inbox partitions changed (through a started
    admin client it is given)."""

    def __init__(
        self,
        admin: AIOKafkaAdminClient,
        prefix: str,
        agencies: Callable[[], frozenset[str]],
        *,
        poll_s: float = 0.2,
        sweep_s: float = 5.0,
    ) -> None:
        self._admin = admin
        self._prefix = prefix
        self._pattern = re.compile(inbox_pattern(prefix))
        self._agencies = agencies
        self._poll_s, self._sweep_s = poll_s, sweep_s
        self._polled = self._swept = -1e9
        #: Agencies whose inbox the broker did not have at the last look (left to the sweep).
        self._missing: frozenset[str] = frozenset()
        #: The inbox partitions the broker had at the last look.
        self.partitions: frozenset[TopicPartition] = frozenset()

    async def changed(self) -> frozenset[TopicPartition] | None:
        """The inbox partitions when they differ from the last answer, else None."""
        now = time.monotonic()
        if now - self._polled < self._poll_s:
            return None
        self._polled = now
        agencies = await asyncio.to_thread(self._agencies)
        if now - self._swept < self._sweep_s and not self._unread(agencies - self._missing):
            return None
        self._swept = now
        found = await self._inbox_partitions()
        self.partitions, previous = found, self.partitions
        self._missing = frozenset(self._unread(agencies))
        return None if found == previous else found

    def _unread(self, agencies: frozenset[str]) -> set[str]:
        """Those of ``agencies`` whose inbox is not among the known partitions."""
        read = {tp.topic for tp in self.partitions}
        return {a for a in agencies if inbox_topic(self._prefix, a) not in read}

    async def _inbox_partitions(self) -> frozenset[TopicPartition]:
        topics = await self._admin.describe_topics()
        return frozenset(
            TopicPartition(topic["topic"], part["partition"])
            for topic in topics
            if not topic["error_code"] and self._pattern.fullmatch(topic["topic"])
            for part in topic["partitions"]
        )
