"""``haven bench --json`` runs end to end and leaves no process behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli_run import leftovers, run_haven

pytestmark = pytest.mark.e2e


def test_bench_prints_one_json_object(embedded_data_dir: Path) -> None:
    result = run_haven(embedded_data_dir, "bench", "--events", "600", "--subjects", "60", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["events"] == 600
    assert figures["sealer_events_per_s"] > 0
    assert figures["ingest_events_per_s"] > 0
    assert leftovers(embedded_data_dir) == []
