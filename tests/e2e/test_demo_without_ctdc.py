"""A clone alone runs the demo: without the CTDC file, generated cases stand in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli_run import leftovers

pytestmark = pytest.mark.e2e
HAVEN = Path(sys.executable).parent / "haven"


def test_demo_exits_0_with_no_ctdc_file(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env |= {
        "HAVEN_DATA_DIR": str(tmp_path / "data"),
        "HAVEN_CTDC_PATH": str(tmp_path / "missing" / "ctdc.csv"),
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [str(HAVEN), "demo", "--background", "200"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "generated cases (no CTDC file at" in " ".join(result.stdout.split())
    assert "every check held" in result.stdout
    assert leftovers(tmp_path) == []
