"""How much of the inboxes the sealer's consumer may hold at once, over all partitions.

aiokafka keeps one fetch of every assigned partition with a backlog until the
sealer takes its records, so what it holds grows with the partitions: six
agencies have 36 inbox partitions, 600 have 3,600.  A limit per partition set
once, when the consumer is made, cannot bound the sum (3,600 x 1 MiB is 3.5 GiB
after an outage), so the sealer sets the limit again whenever its assignment
changes: the budget shared among the partitions, at most ``INBOX_FETCH_BYTES``
and at least ``MIN_PARTITION_FETCH_BYTES`` each.  Up to 256 partitions (42
agencies) keep the full 1 MiB; at 3,600 each fetch brings about 73 KiB of a
partition.

A smaller limit slows a drain from a backlog: at 60 agencies and 300,000
preloaded events a 64 MiB budget (182 KiB a partition) cut the sealer's peak
by 70 MB and the drain's rate by 12 %, 128 MiB by 38 MB and 5 %; 256 MiB left
both as they were.  (Each sealer batch then takes fewer records from more
inboxes; why that slows the engines was not measured.)

A broker returns a partition's first record batch whatever the limit, so a
record bigger than it still comes, alone (and goes to the DLQ when it is over
``MAX_EVENT_BYTES``).  Apache Kafka keeps every partition of an answer to the
limit, plus at most one batch.  The embedded broker (Tansu) gives the first
partition of each answer the answer's whole budget (``fetch_max_bytes``, at
most 5 MiB there) and the others the limit, so there one partition of each
answer can pass it.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer

from projectors.sealer.config import (
    INBOX_FETCH_BUDGET,
    INBOX_FETCH_BYTES,
    MIN_PARTITION_FETCH_BYTES,
)

logger = logging.getLogger("haven.sealer")


def partition_fetch_bytes(partitions: int, budget: int = INBOX_FETCH_BUDGET) -> int:
    """The per-partition fetch limit that keeps ``partitions`` fetches within ``budget``."""
    if partitions <= 0:
        return INBOX_FETCH_BYTES
    return max(MIN_PARTITION_FETCH_BYTES, min(INBOX_FETCH_BYTES, budget // partitions))


def fit_fetches(consumer: AIOKafkaConsumer, partitions: int, budget: int) -> int | None:
    """Set the started ``consumer``'s per-partition fetch limit for ``partitions``.

    Returns the limit, or None when this aiokafka keeps it elsewhere (the limit
    the consumer was made with then stays, and a warning says so): aiokafka
    reads it from its fetcher for every request but offers no public setter.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not isinstance(getattr(fetcher, "_max_partition_fetch_bytes", None), int):
        logger.warning(
            "cannot bound the sealer's fetch memory with this aiokafka: each partition"
            " keeps the fetch limit it was made with",
            extra={"partitions": partitions, "partition_fetch_bytes": INBOX_FETCH_BYTES},
        )
        return None
    limit = partition_fetch_bytes(partitions, budget)
    fetcher._max_partition_fetch_bytes = limit
    return limit


__all__ = ["fit_fetches", "partition_fetch_bytes"]
