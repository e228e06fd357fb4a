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
from contextlib import contextmanager
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


@contextmanager
def _haven_up(data_dir: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``haven up`` on its own port; killed if the test did not stop it."""
    port = free_port()
    log = (data_dir / "up.log").open("ab")
    process = subprocess.Popen(
        [str(HAVEN), "up", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: httpx.get(f"{base}/v1/health").status_code == 200, 120, "health 200")
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: exit 0 and no child (worker, broker, Postgres) left behind."""
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 3, "worker, broker and Postgres run under haven up"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"left behind: {[p.pid for p in alive]}"


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


def _identified(subject: str) -> dict[str, object]:
    return cloudevent(
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


def _publish_and_see(base: str, token: str, subject: str) -> dict[str, object]:
    auth = {"Authorization": f"Bearer {token}"}
    posted = httpx.post(f"{base}/v1/events", json=_identified(subject), headers=auth)
    assert posted.status_code == 202, posted.text
    view = f"{base}/v1/subjects/{subject}"
    _wait_until(lambda: httpx.get(view, headers=auth).status_code == 200, 90, "the event visible")
    body: dict[str, object] = httpx.get(view, headers=auth).json()
    return body


def _verify(env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [str(HAVEN), "audit", "verify", "--json"], env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_haven_up_round_trip_clean_stop_and_restart_restores_the_log(
    embedded_data_dir: Path,
) -> None:
    env = _env(embedded_data_dir)
    first = str(uuid.uuid4())
    with _haven_up(embedded_data_dir, env) as (process, base):
        ngo, other = _add_agency(env, "gr_ngo", "ngo"), _add_agency(env, "gr_health", "health")
        before = _publish_and_see(base, ngo, first)
        assert before["personal"]["full_name"] == NAME  # type: ignore[index]
        view = f"{base}/v1/subjects/{first}"
        assert httpx.get(view, headers={"Authorization": f"Bearer {other}"}).status_code == 404
        assert "haven_events_sealed_total 1.0" in httpx.get(f"{base}/metrics").text
        _stop(process)
    with _haven_up(embedded_data_dir, env) as (process, base):
        auth = {"Authorization": f"Bearer {ngo}"}
        assert httpx.get(f"{base}/v1/subjects/{first}", headers=auth).json() == before
        restored = _verify(env)  # the restored log equals the archive, chains hold
        assert all(p["log_records"] == p["entries"] for p in restored["partitions"])  # type: ignore[attr-defined]
        _publish_and_see(base, ngo, str(uuid.uuid4()))
        _wait_until(lambda: _verify(env)["entries"] > restored["entries"], 30, "chain continued")  # type: ignore[operator]
        _stop(process)
    assert b"log restored from the archive" in (embedded_data_dir / "up.log").read_bytes()


def _api_children(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(process.pid).children()
        if "multiprocessing.spawn" in " ".join(child.cmdline())
    ]


def test_haven_up_serves_one_port_from_several_api_processes(embedded_data_dir: Path) -> None:
    env = _env(embedded_data_dir) | {"HAVEN_API_WORKERS": "3"}
    with _haven_up(embedded_data_dir, env) as (process, base):
        assert len(_api_children(process)) == 2, "two API processes besides haven up's own"
        ngo, other = _add_agency(env, "gr_ngo", "ngo"), _add_agency(env, "gr_health", "health")
        subject = str(uuid.uuid4())
        assert _publish_and_see(base, ngo, subject)["personal"]["full_name"] == NAME  # type: ignore[index]
        view = f"{base}/v1/subjects/{subject}"
        with httpx.Client() as fresh:  # a new connection each time: any process may answer
            answers = [
                fresh.get(view, headers={"Authorization": f"Bearer {ngo}", "Connection": "close"})
                for _ in range(30)
            ]
        assert {a.status_code for a in answers} == {200}
        assert httpx.get(view, headers={"Authorization": f"Bearer {other}"}).status_code == 404
        for child in _api_children(process):
            child.send_signal(signal.SIGUSR1)  # what haven up sends them when it starts to drain
        time.sleep(1)
        with httpx.Client() as fresh:
            writes = [
                fresh.post(f"{base}/v1/events", json={}, headers={"Connection": "close"})
                for _ in range(60)
            ]
        drained = [w for w in writes if w.status_code == 503]
        assert drained, "a draining child answers writes with 503"
        assert all(w.json()["reason"] == "stopping" for w in drained)
        assert {w.status_code for w in writes} <= {401, 503}, "haven up's own API still serves"
        _stop(process)
