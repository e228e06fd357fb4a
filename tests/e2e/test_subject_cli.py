"""``haven subject export ID --agency A`` as an operator runs it, against the configured infra."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from tests.integration.test_domain_rules import GRANTED, IDENTIFIED, grant, ident

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
HAVEN = Path(sys.executable).parent / "haven"


def test_export_for_an_entitled_agency_only(
    engine: Engine,
    database_url: str,
    master_key: bytes,
    infra: Endpoints,
    embedded_data_dir: Path,
) -> None:
    rig = EngineRig(engine, master_key)
    for agency, kind in (("gr_ngo", "ngo"), ("gr_coord", "coordinator"), ("gr_pol", "police")):
        rig.register(agency, kind, "GR")
    subject = str(uuid.uuid4())
    rig.publish("gr_ngo", IDENTIFIED, ident(), subject=subject)
    rig.publish("gr_ngo", GRANTED, grant(agencies=["gr_coord", "gr_pol"]), subject=subject)
    rig.run()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap_servers,
        DATABASE_URL=database_url,
        HAVEN_DATA_DIR=str(embedded_data_dir),
        HAVEN_MASTER_KEY=base64.b64encode(master_key).decode(),
    )

    def haven(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(HAVEN), "subject", "export", subject, *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    exported = haven("--agency", "gr_coord")
    assert exported.returncode == 0, exported.stderr[-2000:]
    document = json.loads(exported.stdout)
    assert document["agency_id"] == "gr_coord"
    (row,) = document["read_models"]["subjects"]
    assert row["personal"]["full_name"] == "Test Person"
    assert [t["event_type"] for t in document["read_models"]["timeline"]] == [IDENTIFIED]

    refused = haven("--agency", "gr_pol")
    assert refused.returncode == 3
    assert "forbidden" in refused.stderr
    assert refused.stdout == ""
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT agency_id FROM haven_core.access_log WHERE subject_id = :s"),
            {"s": subject},
        ).scalars()
        assert list(logged) == ["gr_coord"]
