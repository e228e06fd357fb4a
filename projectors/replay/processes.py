"""Replaying the archive in several processes, each with a share of the partitions.

The engine core is bound by Python: the threads of one process share one
core (the GIL), processes use a core each.  Partitions are independent (a
subject never spans two, every system event is in every one), so process
``i`` of ``n`` replays the partitions ``p`` with ``p % n == i``
(:class:`~projectors.engine.share.Share`) through :func:`replay_log`, as the
single-process replay does.  Each child opens its own database engines,
reads its partitions' archived records itself (only counts come back) and
replays those below the given bounds; children are spawned, not forked, so
no connection pool or thread crosses over.  A small archive is replayed in
this process (:data:`PROCESS_MIN_RECORDS`).
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from infra.collector import tune_collector
from infra.db import sync_engine
from projectors.audit.archive import archived_partitions, archived_records
from projectors.engine.share import all_shares
from projectors.policy.model import Policy
from projectors.replay import REPLAY_BATCH, replay_below

#: Seconds between checks that every child is still alive while none reports.
_POLL_S = 0.5
#: Archived records per replay process at least: a process costs its start
#: (imports, connections), a small archive replays faster in this one.
PROCESS_MIN_RECORDS = 1000


#: What a child reports: ("batch", records, 0, ""), ("done", replayed, skipped, "")
#: or ("failed", 0, 0, error type).
Report = tuple[str, int, int, str]


class ReplayProcessFailed(RuntimeError):
    """A replay process failed (its error type only: errors may quote personal data)."""


@dataclass(frozen=True)
class ArchiveShare:
    """What one replay process reads and applies."""

    live_url: str
    scratch_url: str
    topic: str
    bounds: dict[int, int]
    policy: Policy | None
    batch_size: int


@dataclass
class ReplayCounts:
    """Records replayed, and records at or past the bounds left out."""

    replayed: int = 0
    skipped: int = 0


def replay_archive(
    live: Engine,
    scratch: Engine,
    topic: str,
    bounds: Mapping[int, int],
    *,
    processes: int,
    policy: Policy | None = None,
    batch_size: int = REPLAY_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> ReplayCounts:
    """Replay the archived records of ``bounds``' partitions below each bound into
    ``scratch``, in at most ``processes`` processes: never more than partitions, nor
    than one per :data:`PROCESS_MIN_RECORDS` archived records (one runs here)."""
    with live.connect() as conn:
        archived = sum(count for _, _, count in archived_partitions(conn, topic).values())
    count = max(1, min(processes, len(bounds), archived // PROCESS_MIN_RECORDS))
    urls = (_url(live), _url(scratch))
    if count == 1:
        whole = ArchiveShare(*urls, topic, dict(bounds), policy, batch_size)
        return _replay_share(live, scratch, whole, on_batch)
    context = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[Report] = context.Queue()
    children = []
    for share in all_shares(count):
        part = {p: bounds[p] for p in share.partitions(bounds)}
        work = ArchiveShare(*urls, topic, part, policy, batch_size)
        children.append(context.Process(target=_child, args=(work, reports), daemon=True))
    for child in children:
        child.start()
    try:
        return _collect(reports, children, on_batch)
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
            child.join()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _collect(
    reports: multiprocessing.Queue[Report],
    children: Sequence[multiprocessing.process.BaseProcess],
    on_batch: Callable[[int], None] | None,
) -> ReplayCounts:
    counts, done = ReplayCounts(), 0
    while done < len(children):
        try:
            kind, first, second, error = reports.get(timeout=_POLL_S)
        except queue.Empty:
            if any(c.exitcode not in (None, 0) for c in children):
                raise ReplayProcessFailed("a replay process died") from None
            continue
        if kind == "batch" and on_batch is not None:
            on_batch(first)
        elif kind == "done":
            counts.replayed += first
            counts.skipped += second
            done += 1
        elif kind == "failed":
            raise ReplayProcessFailed(f"a replay process failed ({error})")
    return counts


def _child(work: ArchiveShare, reports: multiprocessing.Queue[Report]) -> None:
    tune_collector()
    live = sync_engine(work.live_url, pool_size=1)
    scratch = sync_engine(work.scratch_url, pool_size=len(work.bounds) + 1)
    try:
        counts = _replay_share(live, scratch, work, lambda n: reports.put(("batch", n, 0, "")))
    except Exception as error:
        reports.put(("failed", 0, 0, type(error).__name__))
        raise SystemExit(1) from None
    finally:
        live.dispose()
        scratch.dispose()
    reports.put(("done", counts.replayed, counts.skipped, ""))


def _replay_share(
    live: Engine, scratch: Engine, work: ArchiveShare, on_batch: Callable[[int], None] | None
) -> ReplayCounts:
    archived = {p: (r for _, r in archived_records(live, work.topic, p)) for p in work.bounds}
    replayed, skipped = replay_below(
        scratch,
        work.topic,
        archived,
        work.bounds,
        policy=work.policy,
        batch_size=work.batch_size,
        on_batch=on_batch,
    )
    return ReplayCounts(replayed, skipped)
