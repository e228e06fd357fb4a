"""The rebalance listener of the engine (the sealer uses no group): positions live in Postgres.

On assignment it hands the new partitions to the owner, which pauses them
until it has read their stored positions and seeked there; on revocation
there is nothing to flush, since every batch commits its position with its
work.  Kafka's committed offsets are never used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener


class FencedPartitionListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Calls ``on_assigned`` with newly assigned partitions; revocation needs no work."""

    def __init__(self, on_assigned: Callable[[list[TopicPartition]], None]) -> None:
        self._on_assigned = on_assigned

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        del revoked  # positions are committed per batch in Postgres

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._on_assigned(list(assigned))
