"""How much a consumer may hold of its partitions at once: one budget over all of them.

aiokafka keeps one fetch of every assigned partition with a backlog until the
loop takes its records, so what a consumer holds grows with its partitions:
six agencies have 36 inbox partitions, 600 have 3,600.  A limit per partition
set once, when the consumer is made, cannot bound the sum (3,600 x 1 MiB is
3.5 GiB after an outage), so the sealer and the engine set the limit again
whenever their assignment changes (:func:`fit_fetches`): the budget shared
among the partitions, between a floor and a ceiling.

A smaller limit slows a drain from a backlog: at 60 agencies and 300,000
preloaded events, a sealer budget of 64 MiB (182 KiB a partition) cut the
sealer's peak by 70 MB and the drain's rate by 12 %, 128 MiB by 38 MB and
5 %; 256 MiB left both as they were.  (Each sealer batch then takes fewer
records from more inboxes; why that slows the engines was not measured.)

A broker returns a partition's first record batch whatever the limit, so a
record bigger than it still comes, alone.  Apache Kafka keeps every partition
of an answer to the limit, plus at most one batch.  The embedded broker
(Tansu) gives the first partition of each answer the answer's whole budget
(``fetch_max_bytes``, at most 5 MiB there) and the others the limit, so there
one partition of each answer can pass it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from projectors.runtime.fetcher import set_fetcher

logger = logging.getLogger("haven.fetch")


@dataclass(frozen=True)
class FetchBudget:
    """What one consumer may hold of all its partitions together, fetched and not yet taken."""

    total: int
    #: The most one fetch may bring of a partition (also the consumer's limit when made).
    most: int
    #: The most one fetch answer may bring of all the partitions together (aiokafka's
    #: ``fetch_max_bytes``, 50 MiB by default): on the embedded broker also what the
    #: first partition of an answer can bring, whatever ``most`` and the share say.
    answer: int
    #: The least: past ``total // least`` partitions the total grows by this much a
    #: partition rather than fetches shrinking further.
    least: int = 16 * 1024

    def per_partition(self, partitions: int) -> int:
        """The per-partition limit that keeps ``partitions`` fetches within the total."""
        if partitions <= 0:
            return self.most
        return max(self.least, min(self.most, self.total // partitions))


def fit_fetches(
    consumer: AIOKafkaConsumer, partitions: int, budget: FetchBudget, role: str
) -> int | None:
    """Set the started ``consumer``'s per-partition fetch limit for ``partitions``.

    Returns the limit, or None when this aiokafka keeps it elsewhere (the limit
    the consumer was made with then stays, and a warning says so): aiokafka
    reads it from its fetcher for every request (``runtime.fetcher``).
    """
    limit = budget.per_partition(partitions)
    if set_fetcher(consumer, "_max_partition_fetch_bytes", limit):
        return limit
    logger.warning(
        "cannot bound the fetch memory with this aiokafka: each partition keeps"
        " the fetch limit it was made with",
        extra={"role": role, "partitions": partitions, "partition_fetch_bytes": budget.most},
    )
    return None


__all__ = ["FetchBudget", "fit_fetches"]
