"""``haven up`` as a subprocess: health, a publish-then-read round trip, clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest

from infra.embedded.processes import free_port
from services.scenarios.builders import cloudevent

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"
NAME = "Yevheniia Quillfeather"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "KAFKA_"))}
    env.pop("DATABASE_URL", None)
    return env | {"HAVEN_DATA_DIR": str(data_dir), "HAVEN_SESSION_TIMEOUT_S": "6"}


def _wait_until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout_s}s")


@pytest.fixture
def running(
    embedded_data_dir: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], str, dict[str, str]]]:
    env = _env(embedded_data_dir)
    port = free_port()
    process = subprocess.Popen(
        [str(HAVEN), "up", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(embedded_data_dir / "up.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: httpx.get(f"{base}/v1/health").status_code == 200, 120, "health 200")
        yield process, base, env
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _add_agency(env: dict[str, str], agency_id: str, kind: str) -> str:
    result = subprocess.run(
        [str(HAVEN), "agency", "add", "--id", agency_id, "--type", kind, "--jurisdiction", "GR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(result.stdout)["token"])


def test_haven_up_serves_a_round_trip_and_stops_cleanly(
    running: tuple[subprocess.Popen[bytes], str, dict[str, str]],
) -> None:
    process, base, env = running
    ngo, other = _add_agency(env, "gr_ngo", "ngo"), _add_agency(env, "gr_health", "health")
    subject = str(uuid.uuid4())
    event = cloudevent(
        agency="gr_ngo",
        jurisdiction="GR",
        event_type="haven.victim.identified.v1",
        subject=subject,
        time=datetime.now(UTC),
        data={
            "identified_at": "2026-11-01T10:00:00Z",
            "nationality": ["UA"],
            "exploitation_types": ["forced_labour"],
            "indicators": [],
            "is_minor": False,
            "languages": ["uk"],
            "personal": {"full_name": NAME},
        },
    )
    posted = httpx.post(f"{base}/v1/events", json=event, headers={"Authorization": f"Bearer {ngo}"})
    assert posted.status_code == 202, posted.text
    view = f"{base}/v1/subjects/{subject}"
    _wait_until(
        lambda: httpx.get(view, headers={"Authorization": f"Bearer {ngo}"}).status_code == 200,
        90,
        "the event visible to its producer",
    )
    body = httpx.get(view, headers={"Authorization": f"Bearer {ngo}"}).json()
    assert body["personal"]["full_name"] == NAME
    assert httpx.get(view, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert "haven_events_sealed_total 1.0" in httpx.get(f"{base}/metrics").text
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 3, "worker, broker and Postgres run under haven up"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"left behind: {[p.pid for p in alive]}"
