"""Replaying a log into a database through the real engine core (no broker needed).

Read models are disposable: a replay of the same log rebuilds exactly the
live read models (docs/engine.md).  Tests compare the two; auditors use it
to check what a withdrawal left behind.

A replay takes the same batch path as the live engine, in large batches
(``batch_size`` records per transaction), and replays the partitions side by
side, one thread each, as the live engine does: a subject never spans two
partitions, and every system event is in every partition.  Records may come
as lazy iterables (the archive is read in chunks while the engine applies).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from sqlalchemy import Engine

from projectors.bootstrap import construct_engine_core
from projectors.engine.core import EngineCore
from projectors.log import LogRecord
from projectors.policy.model import Policy
from projectors.readmodels.sdk import ProjectorRegistry

#: Records per transaction: thousands, so the set-based writes pay off.
REPLAY_BATCH = 5000


def chunks(records: Iterable[LogRecord], size: int) -> Iterator[list[LogRecord]]:
    """``records`` in lists of at most ``size``, in order."""
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


def replay_log(
    engine: Engine,
    topic: str,
    partitions: Mapping[int, Iterable[LogRecord]],
    *,
    policy: Policy | None = None,
    batch_size: int = REPLAY_BATCH,
    on_batch: Callable[[int], None] | None = None,
    registry: ProjectorRegistry | None = None,
    parallel: int | None = None,
) -> int:
    """Apply every partition's records in order, ``parallel`` partitions at a time
    (all by default); returns how many records were read."""
    # a replay never destroys keys
    core = construct_engine_core(engine, policy=policy, hold_s=float("inf"), registry=registry)
    lock = threading.Lock()

    def report(count: int) -> None:
        if on_batch is not None:
            with lock:
                on_batch(count)

    def one(partition: int) -> int:
        return _replay_partition(core, topic, partition, partitions[partition], batch_size, report)

    workers = max(1, min(parallel or len(partitions), len(partitions)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
        return sum(pool.map(one, sorted(partitions)))


def replay_below(
    engine: Engine,
    topic: str,
    records: Mapping[int, Iterable[LogRecord]],
    bounds: Mapping[int, int],
    *,
    policy: Policy | None = None,
    batch_size: int = REPLAY_BATCH,
    on_batch: Callable[[int], None] | None = None,
    registry: ProjectorRegistry | None = None,
) -> tuple[int, int]:
    """:func:`replay_log` of each partition's records below its bound (none of a
    partition without one); returns the records replayed and those left out."""
    skipped = Counter[int]()

    def below(partition: int, given: Iterable[LogRecord]) -> Iterator[LogRecord]:
        bound = bounds.get(partition, 0)
        for record in given:
            if record.offset < bound:
                yield record
            else:
                skipped[partition] += 1

    replayed = replay_log(
        engine,
        topic,
        {p: below(p, rs) for p, rs in records.items()},
        policy=policy,
        batch_size=batch_size,
        on_batch=on_batch,
        registry=registry,
    )
    return replayed, skipped.total()


def _replay_partition(
    core: EngineCore,
    topic: str,
    partition: int,
    records: Iterable[LogRecord],
    batch_size: int,
    report: Callable[[int], None],
) -> int:
    position = core.positions(topic, [partition]).get(partition)
    pending = (r for r in records if r.offset >= (position or 0))
    total = 0
    for chunk in chunks(pending, batch_size):
        position = core.apply_batch(topic, partition, position, chunk).next_offset
        total += len(chunk)
        report(len(chunk))
    return total
