"""``haven up`` under fault injection: its children, and the checks every case ends with."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy import Engine, text

from infra.embedded.paths import InfraPaths
from infra.embedded.state import read_state
from services.bench.post_plan import Plan
from services.bench.poster import PostReport
from services.cli.up.command import worker_pid_file
from tests.e2e.cli_run import HAVEN, run_haven


def wait_until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError, AssertionError, psutil.Error):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout_s}s")


def _reap(tree: list[psutil.Process], *, kill: bool = False) -> None:
    """Wait for ``tree`` (SIGKILLing each first if ``kill``): none may be left running."""
    for proc in tree if kill else []:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    _, alive = psutil.wait_procs(tree, timeout=20)
    assert not alive, f"left behind: {[p.pid for p in alive]}"


@dataclass
class Up:
    """A running ``haven up`` on a fixed port of one data dir."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "KAFKA_"))}
        env.pop("DATABASE_URL", None)
        return env | {
            "HAVEN_DATA_DIR": str(self.data_dir),
            "HAVEN_SESSION_TIMEOUT_S": "6",
            "HAVEN_WORKER_STOP_TIMEOUT_S": "30",
        }

    def start(self) -> None:
        began = time.monotonic()
        with (self.data_dir / "up.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(HAVEN), "up", "--port", str(self.port)],
                env=self.env(),
                stdout=log,
                stderr=log,
            )
        self.wait_healthy(180)
        self.starts.append(round(time.monotonic() - began, 1))

    def wait_healthy(self, timeout_s: float) -> None:
        health = f"{self.base}/v1/health"
        wait_until(lambda: httpx.get(health).status_code == 200, timeout_s, "health 200")

    def child(self, kind: str) -> psutil.Process:
        """The worker, ``postgres`` (the postmaster) or ``tansu`` child."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children()
        if kind == "worker":
            pid = int(worker_pid_file(self.data_dir).read_text(encoding="ascii"))
            assert pid in {proc.pid for proc in children}, "worker.pid names no child of haven up"
            return psutil.Process(pid)
        for proc in children:
            if proc.name() == kind:
                return proc
        raise AssertionError(f"no {kind} under haven up")

    def sigterm(self, timeout_s: float = 90) -> None:
        """SIGTERM: haven up drains and exits 0, leaving no child behind."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children(recursive=True)
        logged = (self.data_dir / "up.log").stat().st_size
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=timeout_s) == 0
        log = (self.data_dir / "up.log").read_bytes()[logged:]  # this stop's lines
        assert b"did not stop in time" not in log, "the worker was killed, not drained"
        assert b"did not drain in time" not in log
        _reap(children)

    def kill(self) -> None:
        """SIGKILL haven up and every process it started, if running (a teardown): its
        worker outlives a SIGKILLed haven up, and would keep retrying a gone Postgres."""
        if self.process is None or self.process.poll() is not None:
            return
        tree = psutil.Process(self.process.pid).children(recursive=True)
        self.process.kill()
        self.process.wait()
        _reap(tree, kill=True)

    def engine_url(self) -> tuple[str, str]:
        state = read_state(InfraPaths.for_data_dir(self.data_dir))
        assert state is not None
        return state.database_url, state.bootstrap_servers

    def add_agency(self, agency_id: str, kind: str) -> str:
        done = run_haven(
            self.data_dir,
            "agency",
            "add",
            "--id",
            agency_id,
            "--type",
            kind,
            "--jurisdiction",
            "GR",
        )
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["token"])


def applied_counts(engine: Engine, ids: list[str]) -> Counter[tuple[str, str]]:
    """Per event id and outcome, how many ledger entries judged it (duplicates aside)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT event_id, outcome, count(*) FROM haven_core.audit_ledger"
                " WHERE event_id = ANY(:ids) AND outcome <> 'duplicate'"
                " GROUP BY event_id, outcome"
            ),
            {"ids": ids},
        )
        return Counter({(row[0], row[1]): int(row[2]) for row in rows})


def subjects_in(engine: Engine, agency: str, subjects: list[str]) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f'SELECT DISTINCT subject_id FROM "agency_{agency}".subjects'
                " WHERE subject_id = ANY(:s)"
            ),
            {"s": subjects},
        )
        return {row[0] for row in rows}


def trail(engine: Engine, subject: str) -> list[tuple[object, ...]]:
    """The subject's ledger entries, for a failure message (no personal data)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT partition, log_offset, event_type, recipients, outcome, recorded_at"
                " FROM haven_core.audit_ledger WHERE subject_id = :s ORDER BY log_offset"
            ),
            {"s": subject},
        )
        return [tuple(row) for row in rows]


def check_case(up: Up, engine: Engine, plan: Plan, report: PostReport) -> None:
    """Every accepted event applied exactly once, every withdrawal applied, audit verified."""
    assert not report.given_up, f"{len(report.given_up)} events never got a 202"
    ids = [str(e["id"]) for _, events in plan.subjects for e in events]
    assert report.accepted == set(ids)
    wait_until(lambda: len(applied_counts(engine, ids)) == len(ids), 180, "every event applied")
    counts = applied_counts(engine, ids)
    assert set(counts.values()) == {1}, "an accepted event was judged twice"
    assert {outcome for _, outcome in counts} == {"applied"}
    kept = [s for s, _ in plan.subjects if s not in plan.withdrawn]
    for agency, expected in (("gr_ngo", set(kept)), ("gr_police", set(plan.shared))):
        found = subjects_in(engine, agency, kept)
        missing = expected - found
        assert not missing, f"{agency} misses {len(missing)}: {trail(engine, min(missing))}"
        assert found == expected, f"{agency} holds subjects never shared with it"
        assert not subjects_in(engine, agency, sorted(plan.withdrawn)), "a withdrawal not applied"
    verify = run_haven(up.data_dir, "audit", "verify", "--json")
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
