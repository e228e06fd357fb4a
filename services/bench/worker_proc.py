"""The bench's worker: a real ``haven worker`` subprocess, with its RSS sampled.

The worker (a supervisor with a sealer and its engine processes, as deployed)
runs against the bench's own infrastructure; a thread samples the resident
set size of the worker process and its children every ``interval_s``, in all
and per kind of process, and their proportional set size near the peak.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from projectors.runtime.heartbeat import ALL_ROLES, READY_ROLES, STALE_AFTER_S

HAVEN = Path(sys.executable).parent / "haven"


def command_words(process: psutil.Process) -> list[str]:
    """The words of a process's command line.  A forked worker child sets its title
    (``setproctitle``): the kernel then has it as one string, padded with NULs."""
    return " ".join(process.cmdline()).split()


def process_kind(process: psutil.Process, root: psutil.Process) -> str | None:
    """``supervisor`` for the worker itself, else the role its command line names;
    ``None`` for a child forked but not yet started (it still has the worker's) and
    for a process that names no role (a program a role's process ran briefly)."""
    if process.pid == root.pid:
        return "supervisor"
    args = command_words(process)
    if args == command_words(root):
        return None
    role = args.index("--role") + 1 if "--role" in args else len(args)
    return args[role] if role < len(args) else None  # a helper a child ran (e.g. `file`)


#: A tree's RSS this close to its peak so far is near enough for a PSS reading.
_NEAR_PEAK = 0.97


@dataclass
class RssSampler:
    """Peak RSS (MiB) of a process tree, sampled in a daemon thread: of the whole
    tree, and of each kind of process (the supervisor, each role's children summed);
    and the tree's peak proportional set size (PSS: each page shared by N of its
    processes counted 1/N in each), its real footprint: the children are forked from
    the supervisor and share the pages of the code it imported, which RSS counts once
    in every process.

    RSS is read every ``interval_s`` (``statm``: microseconds).  PSS is not: the
    kernel walks a process's page tables to sum it, about 10 ms of CPU for a
    300 MB process, so reading it for the whole tree five times a second took
    0.14 cores from the pipeline being measured.  It is read at most every
    ``pss_every_s``, only while the tree's RSS is within 3 % of its peak so far
    (where PSS peaks too: what grows is the processes' private memory), and once
    more when sampling stops.
    """

    pid: int
    interval_s: float = 0.2
    pss_every_s: float = 2.0
    peak_mb: float = 0.0
    peak_pss_mb: float = 0.0
    peak_by_process_mb: dict[str, float] = field(default_factory=dict)
    _pss_at: float = float("-inf")
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self, *, last: bool = False) -> None:
        kinds: dict[str | None, float] = {}
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
            for process in tree:
                kind = process_kind(process, root)
                kinds[kind] = kinds.get(kind, 0.0) + process.memory_info().rss / 1_048_576
        except psutil.Error:
            return
        total = sum(kinds.values())
        self.peak_mb = max(self.peak_mb, total)
        for kind, mb in kinds.items():
            if kind is not None:
                self.peak_by_process_mb[kind] = max(self.peak_by_process_mb.get(kind, 0.0), mb)
        now = time.monotonic()
        if last or (total >= _NEAR_PEAK * self.peak_mb and now - self._pss_at >= self.pss_every_s):
            self._pss_at = now
            self._sample_pss(tree)

    def _sample_pss(self, tree: list[psutil.Process]) -> None:
        try:
            pss = sum(process.memory_full_info().pss for process in tree) / 1_048_576
        except psutil.Error:
            return
        self.peak_pss_mb = max(self.peak_pss_mb, pss)

    def peaks(self) -> dict[str, float]:
        """Each kind's peak in MiB (they need not coincide: their sum exceeds the tree's)."""
        return {kind: round(mb, 1) for kind, mb in sorted(self.peak_by_process_mb.items())}

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> RssSampler:
        """Sample until :meth:`stop`."""
        self._sample()
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()
        return self

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._sample(last=True)
        self._stop.set()
        return round(self.peak_mb, 1)


@dataclass
class Worker:
    """A running ``haven worker`` and its RSS sampler."""

    process: subprocess.Popen[bytes]
    rss: RssSampler
    started: float
    roles: tuple[str, ...] = ALL_ROLES

    def wait_ready(self, engine: Engine, timeout_s: float = 120.0) -> float:
        """Seconds from launch until the heartbeats say each of the worker's roles is ready."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haven worker exited with {self.process.returncode}")
            with engine.connect() as conn:
                row = conn.execute(READY_ROLES, {"stale": STALE_AFTER_S}).one()
            ready = {"sealer": row.sealers, "engine": row.engines}
            if all(ready[role] for role in self.roles):
                return time.perf_counter() - self.started
            time.sleep(0.1)
        raise TimeoutError(f"haven worker not ready within {timeout_s}s")


def worker_env(endpoints: Endpoints, data_dir: Path, prefix: str) -> dict[str, str]:
    """The worker's settings: this infra, the bench's data dir (master key), no erasure hold."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(endpoints.env())
    env.update(
        HAVEN_DATA_DIR=str(data_dir.resolve()),
        HAVEN_TOPIC_PREFIX=prefix,
        HAVEN_APP_ID=prefix,
        HAVEN_PARTITIONS="6",
        HAVEN_ERASURE_HOLD="0",
        HAVEN_LOG_LEVEL="WARNING",
    )
    for name in ("HAVEN_MASTER_KEY", "HAVEN_MASTER_KEY_FILE", "HAVEN_ENV"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@contextmanager
def running_worker(env: dict[str, str], log_path: Path, role: str = "all") -> Iterator[Worker]:
    """Start ``haven worker --role ROLE``; on exit SIGTERM it (SIGKILL after 30 s) and stop
    sampling."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(HAVEN), "worker", "--role", role], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    roles = ALL_ROLES if role == "all" else (role,)
    worker = Worker(process, RssSampler(process.pid).start(), time.perf_counter(), roles)
    try:
        yield worker
    finally:
        worker.rss.stop()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
