"""``haven worker --role all``'s supervisor over real child processes (plain Python ones)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from services.cli.worker.children import RoleSupervisor, Spawn

# A child that records its SIGTERM, takes a moment to "drain", then exits 0.
DRAINS = """
import signal, sys, time
def stop(*_):
    open(sys.argv[1], "a").write(f"{sys.argv[2]} stopping {time.monotonic()}\\n")
    time.sleep(0.3)
    open(sys.argv[1], "a").write(f"{sys.argv[2]} stopped {time.monotonic()}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1], "a").write(f"{sys.argv[2]} started {time.monotonic()}\\n")
while True:
    time.sleep(0.05)
"""


def _spawner(journal: Path, failing: str | None = None) -> Spawn:
    def spawn(role: str) -> subprocess.Popen[bytes]:
        code = "import sys; sys.exit(3)" if role == failing else DRAINS
        return subprocess.Popen([sys.executable, "-c", code, str(journal), role])

    return spawn


def _lines(journal: Path) -> list[tuple[str, str]]:
    return [(line.split()[0], line.split()[1]) for line in journal.read_text().splitlines()]


def _wait_for(journal: Path, line: tuple[str, str], count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while not (journal.exists() and _lines(journal).count(line) >= count):
        assert time.monotonic() < deadline, f"never saw {line}"
        time.sleep(0.05)


class _Running:
    """A supervisor of a sealer and an engine child, run in a thread until :meth:`stop`."""

    def __init__(self, journal: Path) -> None:
        self.stopping = threading.Event()
        self.supervisor = RoleSupervisor(
            ("sealer", "engine"), _spawner(journal), self.stopping, 20.0
        )
        self.result: list[int] = []
        self._runner = threading.Thread(target=lambda: self.result.append(self.supervisor.run()))
        self._runner.start()

    def stop(self) -> list[int]:
        self.stopping.set()
        self._runner.join(30)
        return self.result


def test_stop_drains_the_sealer_before_the_engine_and_exits_0(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    running = _Running(journal)
    _wait_for(journal, ("sealer", "started"))
    _wait_for(journal, ("engine", "started"))
    assert running.stop() == [0]
    stops = [line for line in _lines(journal) if line[1] != "started"]
    assert stops == [
        ("sealer", "stopping"),
        ("sealer", "stopped"),
        ("engine", "stopping"),
        ("engine", "stopped"),
    ]


def test_a_dead_child_is_restarted(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    running = _Running(journal)
    supervisor = running.supervisor
    _wait_for(journal, ("sealer", "started"))
    first = supervisor.children[0].process
    first.kill()
    _wait_for(journal, ("sealer", "started"), count=2)
    assert supervisor.children[0].process.pid != first.pid
    assert supervisor.children[0].restarts == 1
    assert running.stop() == [0]


def test_a_child_that_keeps_failing_stops_the_worker_with_exit_1(tmp_path: Path) -> None:
    journal, stopping = tmp_path / "journal", threading.Event()
    spawn = _spawner(journal, failing="sealer")
    supervisor = RoleSupervisor(("sealer", "engine"), spawn, stopping, 20.0, max_failures=2)
    began = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - began < 20
    assert supervisor.children[0].restarts == 2
    assert ("engine", "stopped") in _lines(journal)  # the healthy one was drained, not left
    assert all(child.process.poll() is not None for child in supervisor.children)


def test_engine_processes_drain_together_after_the_sealer(tmp_path: Path) -> None:
    journal, stopping = tmp_path / "journal", threading.Event()
    names = ("sealer", "engine:0/2", "engine:1/2")
    supervisor = RoleSupervisor(names, _spawner(journal), stopping, 20.0)
    runner = threading.Thread(target=supervisor.run)
    runner.start()
    for name in names:
        _wait_for(journal, (name, "started"))
    stopping.set()
    runner.join(30)
    stops = [line for line in _lines(journal) if line[1] != "started"]
    assert stops[:2] == [("sealer", "stopping"), ("sealer", "stopped")]
    assert {line[1] for line in stops[2:4]} == {"stopping"}, "both engines stop at once"
    assert {line[0] for line in stops[2:]} == {"engine:0/2", "engine:1/2"}
