"""Small helpers for the bench figures: percentiles, rates, the machine."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psutil
from rich.progress import Progress
from sqlalchemy import Engine, text

SYSTEM_SOURCE = "urn:haven:system"


def percentile_ms(seconds: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1) of durations in seconds, in ms."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1e3, 1)


def rate(count: int, seconds: float) -> int | None:
    """Events per second, or None for an empty interval."""
    return round(count / seconds) if seconds > 0 else None


@dataclass(frozen=True)
class Drained:
    """When a count first moved and when it reached its total."""

    first: tuple[float, int] | None
    finished: float

    def steady_rate(self, total: int) -> int | None:
        """Rate after the first observed progress (group joins and start-up excluded)."""
        if self.first is None or self.finished <= self.first[0] or total <= self.first[1]:
            return None
        return round((total - self.first[1]) / (self.finished - self.first[0]))


def wait_for_count(
    count: Callable[[], int],
    total: int,
    progress: Progress,
    label: str,
    alive: Callable[[], None] = lambda: None,
    *,
    spaced: bool = False,
) -> Drained:
    """Poll ``count`` every 0.1 s until it reaches ``total``; ``alive`` raises to give up.

    ``spaced``: less often when counting takes longer than a hundredth of a
    second (the scale series: a count over a million ledger rows takes about
    half a second), so the polling keeps at most a tenth of the time."""
    task = progress.add_task(label, total=total)
    first: tuple[float, int] | None = None
    done = 0
    pause_s = 0.1
    while done < total:
        alive()
        time.sleep(pause_s)
        started = time.perf_counter()
        done = count()
        if spaced:
            pause_s = max(0.1, 9 * (time.perf_counter() - started))
        if first is None and done:
            first = (time.perf_counter(), done)
        progress.update(task, completed=done)
    return Drained(first, time.perf_counter())


def machine() -> str:
    """What ran the bench: architecture, cores, memory, OS and Python."""
    memory_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()} {os.cpu_count()} cores {memory_gb:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def scalar(engine: Engine, sql: str, **params: object) -> int:
    """One integer from ``sql`` (0 for NULL)."""
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


#: Per log partition, its chain head and the agency events judged since the offset
#: given (from 0 for a partition not given): one statement, one snapshot, so the
#: entries below each head are all there.
_JUDGED_SINCE = text(
    "SELECT h.topic, h.partition, h.next_offset,"
    " (SELECT count(*) FROM haven_core.audit_ledger AS l"
    " WHERE l.topic = h.topic AND l.partition = h.partition"
    " AND l.log_offset >= coalesce(s.o, 0) AND l.log_offset < h.next_offset"
    " AND l.source <> :s AND l.outcome <> 'duplicate')"
    " FROM haven_core.audit_heads AS h"
    " LEFT JOIN unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:o AS bigint[]))"
    " AS s(t, p, o) ON s.t = h.topic AND s.p = h.partition"
)


@dataclass
class LedgerEvents:
    """Agency events the engine has judged (applied or refused), duplicates excluded.

    Each call counts only the ledger entries past the chain heads the last
    call saw (an index range per partition).  Counting the whole ledger, as
    the drains did, read all of it ten times a second: at 100,000 entries about
    a sixth of a core of Postgres, taken from the pipeline being measured.
    """

    engine: Engine
    judged: int = 0
    heads: dict[tuple[str, int], int] = field(default_factory=dict)

    def __call__(self) -> int:
        seen = list(self.heads.items())
        params = {
            "s": SYSTEM_SOURCE,
            "t": [topic for (topic, _), _ in seen],
            "p": [partition for (_, partition), _ in seen],
            "o": [offset for _, offset in seen],
        }
        with self.engine.connect() as conn:
            rows = conn.execute(_JUDGED_SINCE, params).all()
        for topic, partition, next_offset, judged in rows:
            self.judged += int(judged)
            self.heads[(str(topic), int(partition))] = int(next_offset)
        return self.judged


def fanout(engine: Engine) -> dict[str, float | int]:
    """Recipient agencies per applied agency event, producer included (audit ledger)."""
    with engine.connect() as conn:
        applied, rows, refused = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE outcome = 'applied'),"
                " coalesce(sum(cardinality(recipients)) FILTER (WHERE outcome = 'applied'), 0),"
                " count(*) FILTER (WHERE outcome = 'refused')"
                " FROM haven_core.audit_ledger WHERE source <> :s"
            ),
            {"s": SYSTEM_SOURCE},
        ).one()
    return {
        "fanout": round(rows / applied, 3) if applied else 0.0,
        "fanout_deliveries": int(rows),
        "applied_events": int(applied),
        "refused_events": int(refused),
    }
