"""``haven demo`` runs end to end and leaves no process behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli_run import leftovers, run_haven

pytestmark = pytest.mark.e2e


def test_demo_shows_sealing_dead_letters_and_erasure(embedded_data_dir: Path) -> None:
    result = run_haven(embedded_data_dir, "demo", "--background", "40")
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
    assert leftovers(embedded_data_dir) == []
