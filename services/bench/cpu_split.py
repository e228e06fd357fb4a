"""Cores used per kind of process over a bench phase: where its time goes.

Every process on the machine is read at the start and at the end of the
phase (``psutil``) and named by kind: the worker's own (``supervisor``,
``sealer``, ``engine``: its process tree, by command line), ``postgres``,
the ``broker`` (Tansu), the ``bench`` itself (its producers, pollers and
clients), and ``other``.  A kind's cores are its CPU seconds in the phase
over the phase's wall seconds; a process that ends inside the phase is
missing at the end and counts nothing, one that starts counts from zero.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from services.bench.worker_proc import process_kind


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds of every process (by pid, with its kind), and when they were read."""

    at: float
    seconds: dict[int, tuple[str, float]]


def _kind(process: psutil.Process, worker: psutil.Process | None, tree: set[int]) -> str:
    if process.pid == os.getpid():
        return "bench"
    if worker is not None and process.pid in tree:
        return process_kind(process, worker) or "worker"
    name = process.name()
    if name.startswith("postgres"):
        return "postgres"
    return "broker" if "tansu" in name else "other"


def snapshot(worker_pid: int | None = None) -> CpuSnapshot:
    """Every process's CPU seconds now; ``worker_pid`` names the worker's tree."""
    try:
        worker = psutil.Process(worker_pid) if worker_pid is not None else None
        tree = {p.pid for p in (worker, *worker.children(recursive=True))} if worker else set()
    except psutil.Error:
        worker, tree = None, set()
    seconds: dict[int, tuple[str, float]] = {}
    for process in psutil.process_iter():
        try:
            times = process.cpu_times()
            seconds[process.pid] = (_kind(process, worker, tree), times.user + times.system)
        except psutil.Error:
            continue
    return CpuSnapshot(time.perf_counter(), seconds)


def _spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Each kind's CPU seconds between the two snapshots, by kind in order."""
    used: dict[str, float] = {}
    for pid, (kind, seconds) in after.seconds.items():
        earlier = before.seconds.get(pid)
        spent = seconds - (earlier[1] if earlier is not None else 0.0)
        used[kind] = used.get(kind, 0.0) + max(spent, 0.0)
    return dict(sorted(used.items()))


def cores_by_kind(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Each kind's cores between the two snapshots, and their ``total``."""
    wall = max(after.at - before.at, 1e-9)
    used = _spent(before, after)
    cores = {kind: round(spent / wall, 2) for kind, spent in used.items()}
    return cores | {"total": round(sum(used.values()) / wall, 2)}


def cpu_us_per_event(before: CpuSnapshot, after: CpuSnapshot, events: int) -> dict[str, float]:
    """Each kind's CPU microseconds per event between the two snapshots (a drain of
    ``events``), and their ``total``: where the work of an event goes."""
    used, scale = _spent(before, after), 1e6 / max(events, 1)
    per = {kind: round(spent * scale, 1) for kind, spent in used.items()}
    return per | {"total": round(sum(used.values()) * scale, 1)}


def idle_cores(worker_pid: int, seconds: float) -> dict[str, float]:
    """Each kind's cores over ``seconds`` in which nothing is published: what a quiet
    worker, its broker and Postgres cost while they wait for events."""
    before = snapshot(worker_pid)
    time.sleep(seconds)
    return cores_by_kind(before, snapshot(worker_pid))


__all__ = ["CpuSnapshot", "cores_by_kind", "cpu_us_per_event", "idle_cores", "snapshot"]
