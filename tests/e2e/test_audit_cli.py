"""``haven audit verify | replay | trail`` as a user runs them, against the configured infra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from events.topics import log_topic
from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from services.scenarios.audit import build_scenario
from services.scenarios.synthetic import first_cases

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
HAVEN = Path(sys.executable).parent / "haven"


def _haven(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "audit", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_verify_replay_and_trail_from_the_cli(
    engine: Engine,
    database_url: str,
    master_key: bytes,
    infra: Endpoints,
    topic_prefix: str,
    embedded_data_dir: Path,
) -> None:
    rig = EngineRig(engine, master_key, topic=log_topic(topic_prefix))
    scenario = build_scenario(rig, first_cases(100), 120, seed=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap_servers,
        DATABASE_URL=database_url,
        HAVEN_TOPIC_PREFIX=topic_prefix,
        HAVEN_DATA_DIR=str(embedded_data_dir),
    )
    verified = _haven(env, "verify", "--json")
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert json.loads(verified.stdout)["entries"] == len(rig.log)

    replayed = _haven(env, "replay", "--from-archive", "--json")
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    summary = json.loads(replayed.stdout)
    assert summary["events"] == len(rig.log)
    assert summary["differences"] == []
    assert "ev/s" in replayed.stderr  # the progress bar's rate

    trail = _haven(env, "trail", "--subject", scenario.subjects[0])
    assert trail.returncode == 0, trail.stderr[-2000:]
    assert json.loads(trail.stdout)["events"][0]["event_type"] == "haven.victim.identified.v1"

    with engine.begin() as conn:
        conn.execute(text("UPDATE haven_core.audit_ledger SET outcome = 'x' WHERE log_offset = 7"))
    broken = _haven(env, "verify", "--json")
    assert broken.returncode == 1
    [finding] = [f for p in json.loads(broken.stdout)["partitions"] for f in p["findings"]]
    assert (finding["kind"], finding["offset"]) == ("modified", 7)
