"""Replaying a log into a database through the real engine core (no broker needed).

Read models are disposable: a replay of the same log rebuilds exactly the
live read models (docs/engine.md).  Tests compare the two; auditors use it
to check what a withdrawal left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Engine

from projectors.bootstrap import construct_engine_core
from projectors.log import LogRecord
from projectors.policy.model import Policy
from projectors.readmodels.sdk import ProjectorRegistry


def replay_log(
    engine: Engine,
    topic: str,
    partitions: Mapping[int, Sequence[LogRecord]],
    *,
    policy: Policy | None = None,
    batch_size: int = 2000,
    on_batch: Callable[[int], None] | None = None,
    registry: ProjectorRegistry | None = None,
) -> int:
    """Apply every partition's records in order; returns how many records were read."""
    # a replay never destroys keys
    core = construct_engine_core(engine, policy=policy, hold_s=float("inf"), registry=registry)
    total = 0
    for partition, records in sorted(partitions.items()):
        position = core.positions(topic, [partition]).get(partition)
        pending = [r for r in records if r.offset >= (position or 0)]
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            position = core.apply_batch(topic, partition, position, chunk).next_offset
            total += len(chunk)
            if on_batch is not None:
                on_batch(len(chunk))
    return total
