"""Running the ``haven`` CLI as a subprocess on its own embedded data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

HAVEN = Path(sys.executable).parent / "haven"


def run_haven(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env.update(HAVEN_DATA_DIR=str(data_dir), COLUMNS="160")
    return subprocess.run(
        [str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def leftovers(data_dir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found
