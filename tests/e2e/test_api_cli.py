"""``haven api`` serves the HTTP API alone: alive at once, ready only with a worker."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from infra.embedded.processes import free_port
from tests.e2e.cli_run import run_haven
from tests.e2e.test_haven_up import HAVEN, _env, _wait_until

pytestmark = pytest.mark.e2e


def test_haven_api_runs_without_a_worker(embedded_data_dir: Path) -> None:
    env = _env(embedded_data_dir)
    assert run_haven(embedded_data_dir, "infra", "up").returncode == 0
    port = free_port()
    api = subprocess.Popen(
        [str(HAVEN), "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: httpx.get(f"{base}/v1/livez").status_code == 200, 90, "livez")
        health = httpx.get(f"{base}/v1/health")
        assert health.status_code == 503, "no worker: alive, not ready"
        assert health.json()["checks"]["worker"] == "no ready worker"
        assert health.json()["down"] == ["worker"]
        assert httpx.get(f"{base}/v1/notices").status_code == 401
        api.send_signal(signal.SIGTERM)
        assert api.wait(timeout=60) == 0
        log = api.stderr.read().decode() if api.stderr else ""
        assert '"path": "/v1/livez"' in log, "access log lines on stderr"
    finally:
        if api.poll() is None:
            api.kill()
            api.wait()
        run_haven(embedded_data_dir, "infra", "down")
