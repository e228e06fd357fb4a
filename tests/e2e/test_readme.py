"""The README's shell blocks marked ``<!-- runnable -->`` run as written.

Each block runs in bash with ``set -euo pipefail`` from the repository root,
on a scratch ``HAVEN_DATA_DIR`` and a free ``HAVEN_API_PORT``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from infra.embedded.processes import free_port
from tests.e2e.cli_run import leftovers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = re.compile(r"<!-- runnable -->\n```bash\n(.*?)```", re.DOTALL)


def runnable_blocks(markdown: str) -> list[str]:
    """The bash blocks that follow a ``<!-- runnable -->`` marker."""
    return RUNNABLE.findall(markdown)


def test_readme_has_runnable_blocks() -> None:
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    assert blocks, "the README marks at least one shell block as runnable"
    assert any("curl" in block and "haven up" in block for block in blocks)


def test_readme_runnable_blocks_run_as_written(embedded_data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "KAFKA_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "HAVEN_DATA_DIR": str(embedded_data_dir),
        "HAVEN_API_PORT": str(free_port()),
        "HAVEN_SESSION_TIMEOUT_S": "6",
    }
    for block in runnable_blocks((ROOT / "README.md").read_text()):
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        if "/v1/subjects/" in block:
            assert '"full_name":"Test Person"' in result.stdout
            assert result.stdout.rstrip().endswith("404")
    assert leftovers(embedded_data_dir) == []
