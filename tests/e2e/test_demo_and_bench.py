"""``haven demo`` and ``haven bench`` run end to end and leave no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env.update(HAVEN_DATA_DIR=str(data_dir), COLUMNS="160")
    return subprocess.run(
        [str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _leftovers(data_dir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found


def test_demo_shows_sealing_dead_letters_and_erasure(embedded_data_dir: Path) -> None:
    result = _run(embedded_data_dir, "demo", "--background", "40")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "haven.log.v1" in out
    assert "haven.dlq.v1" in out
    assert "invalid_json" in out
    assert "agency_mismatch" in out
    assert "YES" not in out  # no plaintext personal value in the log or the DLQ
    after = out.split("after crypto-shredding", 1)[1]
    # identification `personal`, placement `location`, the first risk `notes`:
    assert after.count("ERASED") == 3
    assert after.count("Assessment note") == 1  # sealed after the withdrawal: new epoch
    assert "Respondent Demo" in after  # the order's key survives
    assert _leftovers(embedded_data_dir) == []


def test_bench_prints_one_json_object(embedded_data_dir: Path) -> None:
    result = _run(embedded_data_dir, "bench", "--events", "600", "--subjects", "60", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["events"] == 600
    assert figures["sealer_events_per_s"] > 0
    assert figures["ingest_events_per_s"] > 0
    assert _leftovers(embedded_data_dir) == []
