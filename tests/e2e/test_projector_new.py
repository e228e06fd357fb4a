"""``haven projector new``: the generated test fails until one handler is filled, then passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"
REPO = Path(__file__).resolve().parents[2]
FILLED = """        level = event.get("level")
        values = {"level": level, "assessed_at": event.timestamp("assessed_at")}
        rows.upsert(self.table, {"subject_id": event.subject_id}, values)
"""


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=f"{cwd}{os.pathsep}{REPO}", **(env or {}))
    return subprocess.run(
        args, cwd=cwd, env=full, capture_output=True, text=True, timeout=300, check=False
    )


def _pytest(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "ext_tests",
        ],
        tmp_path,
    )


def test_generated_projector_passes_its_test_after_filling_one_handler(tmp_path: Path) -> None:
    made = _run(
        [
            str(HAVEN),
            "projector",
            "new",
            "risk_watch",
            "--dir",
            "ext/custom",
            "--tests-dir",
            "ext_tests",
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    module = tmp_path / "ext" / "custom" / "risk_watch.py"
    assert "custom_projectors()" in made.stdout

    skeleton = _pytest(tmp_path)
    assert skeleton.returncode == 1, skeleton.stdout[-2000:]
    assert "NotImplementedError" in skeleton.stdout

    source = module.read_text()
    start = source.index("        # Example")
    end = source.index("        raise NotImplementedError")
    end = source.index("\n", end) + 1
    module.write_text(source[:start] + FILLED + source[end:])
    filled = _pytest(tmp_path)
    assert filled.returncode == 0, filled.stdout[-3000:]
    config = str(REPO / "pyproject.toml")
    for check in (["check"], ["format", "--check"]):
        lint = _run(
            [str(HAVEN.parent / "ruff"), *check, "--config", config, "ext", "ext_tests"], tmp_path
        )
        assert lint.returncode == 0, lint.stdout
    typed = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            config,
            "--explicit-package-bases",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "ext/custom/risk_watch.py",
            "ext_tests/test_risk_watch_projector.py",
        ],
        tmp_path,
        env={"MYPYPATH": f"{tmp_path}{os.pathsep}{REPO}"},
    )
    assert typed.returncode == 0, typed.stdout


def test_names_are_checked_and_nothing_is_overwritten(tmp_path: Path) -> None:
    bad = _run([str(HAVEN), "projector", "new", "Risk-Watch", "--dir", "ext"], tmp_path)
    assert bad.returncode == 2
    assert "must match" in bad.stderr
    args = [str(HAVEN), "projector", "new", "watch", "--dir", "ext", "--tests-dir", "t"]
    assert _run(args, tmp_path).returncode == 0
    again = _run(args, tmp_path)
    assert again.returncode == 2
    assert "refusing to overwrite" in again.stderr
