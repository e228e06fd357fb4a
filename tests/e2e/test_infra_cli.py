"""``haven infra up|status|down`` as a user runs them, and owned infra dying with its owner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from kafka import KafkaAdminClient

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"
KEYS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")

OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from infra.embedded import EmbeddedInfra
EmbeddedInfra(Path(sys.argv[1]), timeout_s=60).start()
print("READY", flush=True)
time.sleep(600)
"""


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env["HAVEN_DATA_DIR"] = str(data_dir)
    return env


def _haven(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "infra", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _endpoint_lines(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    assert len(lines) == 2, stdout
    pairs = dict(line.split("=", 1) for line in lines)
    assert tuple(pairs) == KEYS, stdout
    return pairs


def _alive(pid: int) -> bool:
    """Running and not a zombie (an orphan's zombie may wait for a non-reaping init)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _mentioning(text: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if text in cmdline and _alive(proc.info["pid"]):
            found.append(proc.info["pid"])
    return found


def _tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [pid, *(child.pid for child in proc.children(recursive=True))]


def _check_endpoints_work(pairs: dict[str, str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=pairs["KAFKA_BOOTSTRAP_SERVERS"])
    try:
        assert admin.describe_cluster()["brokers"]
    finally:
        admin.close()
    url = pairs["DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("haven",)


def test_up_status_down(embedded_data_dir: Path) -> None:
    began = time.monotonic()
    up = _haven(embedded_data_dir, "up")
    assert up.returncode == 0, up.stderr
    print(f"haven infra up (cold): {time.monotonic() - began:.2f}s; stderr: {up.stderr.strip()}")
    pairs = _endpoint_lines(up.stdout)

    assert _haven(embedded_data_dir, "up").stdout == up.stdout  # idempotent
    status = _haven(embedded_data_dir, "status")
    assert status.returncode == 0, status.stderr
    assert _endpoint_lines(status.stdout) == pairs
    _check_endpoints_work(pairs)

    state_file = embedded_data_dir / "infra" / "state.json"
    assert state_file.stat().st_mode & 0o777 == 0o600
    state = json.loads(state_file.read_text())
    pids = _tree(state["postgres"]["pid"]) + _tree(state["broker"]["pid"])

    down = _haven(embedded_data_dir, "down")
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids if _alive(pid)]
    assert not _mentioning(str(embedded_data_dir))
    assert not state_file.exists()
    after = _haven(embedded_data_dir, "status")
    assert after.returncode == 1
    assert "not running" in after.stderr
    assert after.stdout == ""
    assert _haven(embedded_data_dir, "down").returncode == 0  # idempotent


def test_stale_state_is_cleaned_and_restarted(embedded_data_dir: Path) -> None:
    assert _haven(embedded_data_dir, "up").returncode == 0
    state = json.loads((embedded_data_dir / "infra" / "state.json").read_text())
    os.kill(state["broker"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(state["broker"]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _haven(embedded_data_dir, "status").returncode == 1
    up = _haven(embedded_data_dir, "up")  # restarts both, stopping the surviving postgres
    assert up.returncode == 0, up.stderr
    assert not _alive(state["postgres"]["pid"])
    _check_endpoints_work(_endpoint_lines(up.stdout))
    assert _haven(embedded_data_dir, "down").returncode == 0
    assert not _mentioning(str(embedded_data_dir))


def test_owned_infra_dies_with_sigkilled_owner(embedded_data_dir: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(embedded_data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "READY"
        status = _haven(embedded_data_dir, "status")  # other commands see owned infra too
        assert status.returncode == 0, status.stderr
        _check_endpoints_work(_endpoint_lines(status.stdout))
        state = json.loads((embedded_data_dir / "infra" / "state.json").read_text())
        assert state["owner_pid"] == owner.pid
        pids = _tree(state["postgres"]["pid"]) + _tree(state["broker"]["pid"])
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 15
    while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)]
    assert not _mentioning(str(embedded_data_dir))
    assert _haven(embedded_data_dir, "status").returncode == 1  # stale state cleaned
    assert not (embedded_data_dir / "infra" / "state.json").exists()
