"""The built wheel stands alone: migrations, contracts and the default policy come with it.

Builds the wheel, installs it with its dependencies into a fresh virtualenv
(from the configured package index: no network beyond it), and outside the
repository runs ``haven infra up``, ``haven agency add`` (which applies every
migration) and ``haven infra down``.  About a minute and a half, most of it
installing dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
LEFT_OUT = (".git", ".venv", ".haven", "build", "dist", "*.egg-info", "__pycache__", "*_cache")
CHECK = """
import json
from infra.migrate import migration_files
from events.package_data import contracts_dir
from projectors.policy.loader import default_policy_path, load_policy
load_policy(default_policy_path())
print(json.dumps({
    "migrations": [p.name for p in migration_files()],
    "contracts": str(contracts_dir()),
    "schemas": len(list((contracts_dir() / "schemas").glob("*.json"))),
}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HAVEN_", "KAFKA_", "VIRTUAL_ENV", "PYTHON")) and k != "DATABASE_URL"
    }
    source = tmp_path / "source"  # a clean copy: no stale build/ of an earlier build
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    wheels = tmp_path / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels)]
    _run([*pip_wheel, str(source)], tmp_path, env)
    (wheel,) = wheels.glob("haven-*.whl")
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python, haven = fresh / "bin" / "python", fresh / "bin" / "haven"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env, timeout=900)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = json.loads(_run([str(python), "-c", CHECK], elsewhere, env))
    shipped = sorted(p.name for p in (REPO / "infra" / "migrations").glob("*.sql"))
    assert found["migrations"] == shipped
    assert str(fresh) in found["contracts"], "contracts come from the installed package"
    assert found["schemas"] == len(list((REPO / "contracts" / "schemas").glob("*.json")))

    env["HAVEN_DATA_DIR"] = str(tmp_path / "data")
    _run([str(haven), "infra", "up"], elsewhere, env, timeout=180)
    try:
        added = json.loads(
            _run(
                [
                    str(haven),
                    "agency",
                    "add",
                    "--id",
                    "gr_ngo",
                    "--type",
                    "ngo",
                    "--jurisdiction",
                    "GR",
                ],
                elsewhere,
                env,
            )
        )
        assert added["id"] == "gr_ngo"
        assert added["token"].startswith("hvn_")
        listed = _run([str(haven), "agency", "list", "--json"], elsewhere, env)
        assert json.loads(listed)["type"] == "ngo"
    finally:
        _run([str(haven), "infra", "down"], elsewhere, env, timeout=180)
