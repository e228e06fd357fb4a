"""Start and stop the broker and Postgres of one data dir, in either mode."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import psutil

from infra.embedded.broker import BROKER_STOP_SIGNAL, start_broker, wait_broker_ready
from infra.embedded.paths import InfraPaths
from infra.embedded.pgcluster import ensure_cluster
from infra.embedded.postgres import (
    POSTGRES_STOP_SIGNAL,
    database_url,
    start_postgres,
    wait_postgres_ready,
)
from infra.embedded.processes import create_time, free_port, stop
from infra.embedded.state import InfraState, ProcessRecord, read_state, remove_state

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
POSTGRES_STOP_TIMEOUT_S = 20.0
BROKER_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Timings:
    """Seconds each part took to become ready.

    ``initdb_s`` covers preparing the cluster (``initdb`` the first time,
    near 0 on a warm start); ``postgres_s`` runs from spawn to first login.
    """

    broker_s: float
    postgres_s: float
    initdb_s: float
    total_s: float


@dataclass(frozen=True)
class Started:
    """Freshly started infra: its state, the child handles and the timings."""

    state: InfraState
    broker: subprocess.Popen[bytes]
    postgres: subprocess.Popen[bytes]
    timings: Timings


def _record(proc: subprocess.Popen[bytes], port: int) -> ProcessRecord:
    """Identify a child by pid, kernel start time and executable name (after exec)."""
    name = psutil.Process(proc.pid).name()
    return ProcessRecord(pid=proc.pid, create_time=create_time(proc.pid), name=name, port=port)


def _stop_started(procs: list[tuple[subprocess.Popen[bytes], signal.Signals]]) -> None:
    """Undo a failed start: polite signal first, SIGKILL after a few seconds."""
    for proc, sig in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_infra(
    paths: InfraPaths, *, owned: bool, timeout_s: float, progress: Progress | None = None
) -> Started:
    """Spawn Tansu and Postgres, wait until both answer, and return their state.

    The caller holds the data dir lock and writes the state file.  On any
    failure (including Ctrl-C) whatever was started is killed again.
    """
    say = progress or (lambda _msg: None)
    paths.ensure()
    began = time.monotonic()
    deadline = began + timeout_s
    procs: list[tuple[subprocess.Popen[bytes], signal.Signals]] = []
    try:
        broker_port, pg_port = free_port(), free_port()
        say("preparing postgres cluster")
        cluster = ensure_cluster(paths)
        initdb_s = time.monotonic() - began
        pg_spawned = time.monotonic()
        postgres = start_postgres(cluster, paths, pg_port, owned=owned)
        procs.append((postgres, POSTGRES_STOP_SIGNAL))
        say("starting broker (tansu)")
        broker_spawned = time.monotonic()
        broker = start_broker(paths, broker_port, owned=owned)
        procs.append((broker, BROKER_STOP_SIGNAL))
        wait_broker_ready(broker, broker_port, paths, deadline)
        broker_s = time.monotonic() - broker_spawned
        say("waiting for postgres")
        wait_postgres_ready(postgres, cluster, paths, pg_port, deadline)
        postgres_s = time.monotonic() - pg_spawned
        state = InfraState(
            data_dir=str(paths.data_dir),
            broker=_record(broker, broker_port),
            postgres=_record(postgres, pg_port),
            bootstrap_servers=f"127.0.0.1:{broker_port}",
            database_url=database_url(cluster, pg_port, paths.socket_dir),
            owner_pid=os.getpid() if owned else None,
            started_at=time.time(),
        )
    except BaseException:
        _stop_started(procs)
        raise
    timings = Timings(broker_s, postgres_s, initdb_s, time.monotonic() - began)
    logger.info(
        "infra ready",
        extra={
            "broker_port": broker_port,
            "pg_port": pg_port,
            "owned": owned,
            "broker_s": round(timings.broker_s, 3),
            "pg_s": round(timings.postgres_s, 3),
            "initdb_s": round(timings.initdb_s, 3),
            "total_s": round(timings.total_s, 3),
        },
    )
    return Started(state, broker, postgres, timings)


def restart_part(paths: InfraPaths, started: Started, part: str, timeout_s: float) -> Started:
    """Start the dead ``part`` (``postgres`` or ``broker``) again on its port.

    Postgres comes back with its data (crash recovery); the broker comes back
    empty (memory storage): the caller restores the log.  Returns the new
    :class:`Started`; the caller writes the state file.
    """
    deadline = time.monotonic() + timeout_s
    state = started.state
    if part == "postgres":
        port = state.postgres.port
        cluster = ensure_cluster(paths)
        postgres = start_postgres(cluster, paths, port, owned=True)
        try:
            wait_postgres_ready(postgres, cluster, paths, port, deadline)
        except BaseException:
            _stop_started([(postgres, POSTGRES_STOP_SIGNAL)])
            raise
        state = replace(state, postgres=_record(postgres, port))
        return replace(started, state=state, postgres=postgres)
    port = state.broker.port
    broker = start_broker(paths, port, owned=True)
    try:
        wait_broker_ready(broker, port, paths, deadline)
    except BaseException:
        _stop_started([(broker, BROKER_STOP_SIGNAL)])
        raise
    state = replace(state, broker=_record(broker, port))
    return replace(started, state=state, broker=broker)


def stop_recorded(paths: InfraPaths, state: InfraState | None = None) -> bool:
    """Stop the processes of ``state`` (default: the state file) and drop its record.

    Postgres gets SIGINT (fast shutdown), Tansu SIGTERM; both are SIGKILLed
    after a timeout.  The state file is removed only if it still describes
    ``state``.  Returns True when something was running.  Idempotent.
    """
    state = state or read_state(paths)
    if state is None:
        return False
    was_running = state.broker.alive() or state.postgres.alive()
    began = time.monotonic()
    pg, br = state.postgres, state.broker
    pg_killed = stop(pg.pid, pg.create_time, POSTGRES_STOP_SIGNAL, POSTGRES_STOP_TIMEOUT_S)
    br_killed = stop(br.pid, br.create_time, BROKER_STOP_SIGNAL, BROKER_STOP_TIMEOUT_S)
    if read_state(paths) in (state, None):
        remove_state(paths)
    logger.info(
        "infra stopped",
        extra={
            "was_running": was_running,
            "pg_killed": pg_killed,
            "broker_killed": br_killed,
            "stop_s": round(time.monotonic() - began, 3),
        },
    )
    return was_running
