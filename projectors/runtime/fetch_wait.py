"""How long the broker may hold a consumer's next fetch: short when quiet, longer when busy.

The embedded broker (Tansu) holds a fetch that finds nothing new for the whole
wait the consumer asks for, even when a record arrives meanwhile (Kafka
answers at once).  A short wait keeps a quiet pipeline quick: an event waits
at most that long at each stage.  Under load it costs: the fetches come back
with a few records each, and every batch the sealer or the engine then
commits pays its fixed cost (statements, a commit) for those few.

So the wait follows the last poll (:class:`FetchWait`): after a poll that
brought records, the next fetch may wait ``busy_ms`` and comes back with what
arrived meanwhile; after one that brought nothing, ``quiet_ms``.  The first
event after a pause is therefore still fetched within ``quiet_ms``.  With six
agencies on the 2-core development machine, busy waits of 60 ms (sealer) and
40 ms (engine) against the quiet ones alone: at 20 events/s the pipeline took
0.56 cores against 0.71 and an event 38 / 57 ms (p50 / p99) against 31 / 43;
at 100 events/s 0.96 cores against 1.39, 49 / 70 ms against 52 / 90; at
1,000 events/s (the cores full either way) p99 522-664 ms against 725-970 in
four alternating pairs.

Every fetch names every partition the consumer holds, and the broker and
aiokafka both work through each of them, empty or not: an idle worker with
600 agencies (3,600 inbox partitions) kept 1.12-1.14 cores busy at the
six-agency waits (the broker 0.67 of them, the sealer 0.37).  So a consumer
that holds more than ``reference_partitions`` (ten agencies' inboxes)
stretches both waits in proportion (:meth:`FetchWait.fit`), up to
:data:`CEILING_MS`: 0.72 cores idle at 600 agencies, and a quiet inbox's
event waits at most the ceiling in the sealer (a 500 ms ceiling: 0.51 cores,
but 379 ms against 266 at p99 for a quiet pipeline's events; docs/architecture.md).

A fetch that finds records comes back at once, however few, on Kafka and on
the embedded broker alike.  Under a steady load near the machine's limit,
every stage then takes batches of a few dozen records, and their fixed costs
(statements per table and schema, commits, round trips) keep the cores full,
so events queue.  So a stage whose last poll brought at least
``loaded_records`` (``HAVEN_LOADED_FETCH_RECORDS``, 16) is *loaded* (it
stays so while its polls bring half that) and its fetches ask the broker to gather
:data:`LOADED_MIN_BYTES` first: the broker holds each fetch for the busy wait
unless that much arrives sooner (a backlog answers at once).  Light loads
bring fewer records a poll and are fetched as before, at once.  At 1,000
events/s (six agencies) the bench's visible p50 / p99 fell to 234-253 /
441-472 ms from 340-350 / 626-690 (1.87-1.89 cores against 1.95); at 20 and
100 events/s nothing changed (docs/architecture.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from infra.settings import LOADED_FETCH_RECORDS
from projectors.runtime.fetcher import set_fetcher

logger = logging.getLogger("haven.fetch")

#: Up to this many partitions (ten agencies' inboxes) a consumer waits as configured.
REFERENCE_PARTITIONS = 60
#: The longest wait stretching may give; a configured wait above it stays as it is.
CEILING_MS = 250
#: What a loaded stage's fetch asks the broker to gather before it answers (its
#: busy wait ends it sooner): more than a busy wait's records, so the wait decides.
LOADED_MIN_BYTES = 64 * 1024


@dataclass
class FetchWait:
    """The broker's wait for one consumer's next fetch, by whether the last poll brought
    records (one instance per consumer: it remembers whether it has warned)."""

    #: After a poll that brought nothing: bounds what a quiet stage adds to latency.
    quiet_ms: int
    #: After a poll that brought records: lets a busy stage take larger batches.
    busy_ms: int
    #: Up to this many partitions the waits are as given (:meth:`fit`).
    reference_partitions: int = REFERENCE_PARTITIONS
    #: A poll of at least this many records makes the stage loaded (0: never).
    loaded_records: int = LOADED_FETCH_RECORDS
    #: After this many seconds of polls without records the quiet wait grows (0: never).
    doze_after_s: float = 0.0
    #: The quiet wait of a dozing stage (when longer than the quiet wait).
    doze_ms: int = 0
    #: Whether the last polls brought enough records to gather fuller fetches.
    loaded: bool = field(default=False, compare=False)
    #: When the polls began to bring nothing (None: the last one brought records).
    _empty_since: float | None = field(default=None, repr=False, compare=False)
    #: How much longer both waits are for the partitions a fetch names (:meth:`fit`).
    _stretch: float = field(default=1.0, repr=False, compare=False)
    _warned: bool = field(default=False, repr=False, compare=False)

    def fit(self, partitions: int) -> None:
        """Stretch both waits for a consumer that now holds ``partitions``: in proportion
        beyond ``reference_partitions``, so its empty fetches cost the broker about what
        that many partitions' do, up to :data:`CEILING_MS`."""
        self._stretch = max(1.0, partitions / max(1, self.reference_partitions))

    def wait_ms(self, busy: bool, *, dozing: bool = False) -> int:
        """The wait after a poll that brought records (``busy``) or nothing (longer
        when ``dozing``: at least ``doze_ms``)."""
        wait = self.busy_ms if busy else self.quiet_ms
        fitted = max(wait, min(CEILING_MS, round(wait * self._stretch)))
        return max(fitted, self.doze_ms) if dozing and not busy else fitted

    def dozing(self, now: float) -> bool:
        """Whether the polls have brought nothing for ``doze_after_s`` up to ``now``."""
        since = self._empty_since
        return self.doze_after_s > 0 and since is not None and now - since >= self.doze_after_s

    def note(self, records: int, now: float) -> None:
        """Note a poll of ``records`` at ``now`` (monotonic seconds): loaded from
        ``loaded_records`` on, and while loaded down to half that (so a stage near
        the threshold does not flap); empty since the first of a run of empty polls."""
        floor = self.loaded_records // 2 if self.loaded else self.loaded_records
        self.loaded = self.loaded_records > 0 and records >= max(1, floor)
        if records:
            self._empty_since = None
        elif self._empty_since is None:
            self._empty_since = now

    @property
    def min_bytes(self) -> int:
        """What the next fetch asks the broker to gather: :data:`LOADED_MIN_BYTES`
        while loaded, else one byte (an answer as soon as a record is there)."""
        return LOADED_MIN_BYTES if self.loaded else 1

    def after(self, consumer: AIOKafkaConsumer, records: int, role: str) -> int | None:
        """Set the wait and the bytes to gather of ``consumer``'s next fetch, after a
        poll that brought ``records`` (call right after the poll, before the loop
        awaits anything, so that the next request carries them).

        Returns the wait, or None when this aiokafka keeps it elsewhere (the wait
        the consumer was made with, ``quiet_ms``, then stays): aiokafka reads both
        from its fetcher for every request (``runtime.fetcher``).  A setting it
        keeps elsewhere is logged once; without the gathering, every fetch that
        finds records is answered at once, loaded or not.
        """
        now = time.monotonic()
        self.note(records, now)
        wait = self.wait_ms(busy=records > 0, dozing=self.dozing(now))
        gathers = set_fetcher(consumer, "_fetch_min_bytes", self.min_bytes)
        waits = set_fetcher(consumer, "_fetch_max_wait_ms", wait)
        if not (waits and gathers) and not self._warned:
            logger.warning(
                "cannot adapt the fetch wait or gathering with this aiokafka: every fetch"
                " waits the quiet wait or is answered at once",
                extra={"role": role, "fetch_max_wait_ms": self.quiet_ms, "waits": waits},
            )
            self._warned = True
        return wait if waits else None


__all__ = ["CEILING_MS", "LOADED_MIN_BYTES", "REFERENCE_PARTITIONS", "FetchWait"]
