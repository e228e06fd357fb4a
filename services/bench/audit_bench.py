"""Audit measurements (not a test): replay speed and verify time on a CTDC scenario.

``python -m services.bench.audit_bench --events 20000`` starts its own embedded
infra in a temporary data dir, applies the scenario live, replays the archive
into a scratch database and verifies the ledger; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from infra.db import sync_engine
from infra.embedded import embedded_infra
from infra.migrate import migrate
from projectors.audit.archive import archived_records
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import run_replay, scratch_database
from services.audit.verify import verify
from services.scenarios.audit import build_scenario
from services.scenarios.ctdc import load_cases


def audit_bench(database_url: str, events: int) -> dict[str, float | int]:
    """Figures for ``events`` scenario events on the database at ``database_url``."""
    live = sync_engine(database_url)
    migrate(live)
    rig = EngineRig(live, secrets.token_bytes(32), hold_s=0.0)
    started = time.perf_counter()
    build_scenario(rig, load_cases(limit=2000), events, run_every=2000)
    live_s = time.perf_counter() - started
    records = {0: [r for _, r in archived_records(live, rig.topic, 0)]}
    with scratch_database(database_url) as (_name, scratch):
        report = run_replay(live, scratch, rig.topic, records, source="archive")
    checked = verify(live)
    live.dispose()
    per_million = checked.elapsed_s / max(checked.entries, 1) * 1_000_000
    return {
        "events": len(rig.log),
        "live_s_incl_sealing": round(live_s, 2),
        "replay_s": report.replay_s,
        "replay_events_per_s": report.events_per_s,
        "replay_same": int(report.ok),
        "verify_entries": checked.entries,
        "verify_s": checked.elapsed_s,
        "verify_s_per_million": round(per_million, 1),
        "cores": os.cpu_count() or 0,
    }


def main() -> None:
    """Command-line entry: ``--events N``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="haven-audit-bench-") as tmp,
        embedded_infra(Path(tmp), timeout_s=60) as endpoints,
    ):
        figures = audit_bench(endpoints.database_url, args.events)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
