"""``haven demo`` plays the cross-border story on the real pipeline and leaves nothing behind.

The demo writes what each agency could read after each step (``--report``,
field names and states only, never values); the assertions below are the
story's promises, checked against that record and the printed tables.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.scenarios.ctdc import default_ctdc_path
from tests.e2e.cli_run import leftovers, run_haven

pytestmark = pytest.mark.e2e

AGENCIES = [
    *("gr_ngo", "gr_nrm", "gr_police", "gr_immigration", "gr_child", "gr_dpa"),
    *("it_nrm", "it_shelter", "it_police", "it_court"),
    *("de_legal_aid", "de_police", "de_labour"),
]
CONSENTED = {"gr_ngo", "gr_nrm", "gr_police", "gr_immigration", "it_nrm", "it_shelter"}
CONSENTED |= {"de_legal_aid"}
ORDER_BY_LAW = {"gr_police", "it_police", "it_court"}


def who(step: dict[str, Any], field: str, value: object = "readable") -> set[str]:
    return {agency for agency, view in step["views"].items() if view[field] == value}


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, dict[str, Any], list[int]]]:
    """One run of the demo (about 20 s), shared by the tests of this module."""
    data_dir = Path(tempfile.mkdtemp(prefix="haven-demo-"))
    try:
        report = data_dir / "report.json"
        result = run_haven(data_dir, "demo", "--background", "300", "--report", str(report))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield result.stdout, json.loads(report.read_text()), leftovers(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_runs_the_story_in_three_countries_and_stops_everything(demo: Any) -> None:
    out, report, left = demo
    assert left == []
    assert report["ok"]
    assert len(report["steps"]) == 8
    assert all(check["held"] for check in report["checks"])
    assert set(report["steps"][0]["views"]) == set(AGENCIES)
    assert out.count("what each agency sees (before → after)") == 8
    assert "background: " in out
    # The background cases name their source: the CTDC file, or generated ones in a clone alone.
    assert ("CTDC records" if default_ctdc_path().exists() else "generated cases") in out
    assert "FAILED" not in out


def test_consent_decides_who_sees_her(demo: Any) -> None:
    _out, report, _left = demo
    identified, consent = report["steps"][0], report["steps"][1]
    assert who(identified, "subject", True) == {"gr_ngo"}
    assert who(consent, "subject", True) == CONSENTED
    assert who(consent, "name") == CONSENTED - {"gr_police", "gr_immigration"}
    assert consent["refused"] == ["not_entitled_to_grant"]  # de_labour's self-grant


def test_immigration_sees_only_nationality_and_minority(demo: Any) -> None:
    _out, report, _left = demo
    for step in report["steps"][1:6]:
        view = step["views"]["gr_immigration"]
        assert view["subject_fields"] == ["is_minor", "nationality"], step["title"]
        assert view["name"] is None
        assert view["risk_level"] is None
        assert view["placements"] == 0
        assert view["orders"] == 0


def test_shelter_location_only_for_the_shelter_and_coordinators(demo: Any) -> None:
    _out, report, _left = demo
    placed = report["steps"][3]
    assert who(placed, "location") == {"it_shelter", "gr_nrm", "it_nrm"}
    assert placed["views"]["gr_ngo"]["placements"] == 1  # without the address
    for step in report["steps"]:
        assert who(step, "location") <= {"it_shelter", "gr_nrm", "it_nrm"}


def test_order_recognised_in_both_countries(demo: Any) -> None:
    _out, report, _left = demo
    ordered = report["steps"][4]
    assert who(ordered, "respondent") >= ORDER_BY_LAW
    assert "de_police" not in who(ordered, "orders", 1)
    assert not ordered["views"]["it_police"]["subject"]  # an order alone: no subject row


def test_partial_withdrawal_erases_the_withdrawn_agency_but_keeps_the_order(demo: Any) -> None:
    _out, report, _left = demo
    partial = report["steps"][5]
    police = partial["views"]["gr_police"]
    assert not police["subject"]
    assert police["risk_level"] is None
    assert police["orders"] == 1
    assert police["respondent"] == "readable"
    assert who(partial, "subject", True) == CONSENTED - {"gr_police"}
    receipt = [r for r in partial["receipt"] if r["agency"] != "*"]
    assert {r["agency"] for r in receipt} == {"gr_police"}
    assert {b for r in receipt for b in r["bases"]} == {"protective_order_recognition"}
    assert all(r["key_action"] == "none" for r in partial["receipt"])
    assert [n["agency"] for n in partial["notices"]] == ["gr_police"]


def test_full_withdrawal_erases_and_shreds_her_keys(demo: Any) -> None:
    out, report, _left = demo
    full = report["steps"][6]
    assert who(full, "subject", True) == {"gr_nrm"}  # critical risk: vital interests
    assert who(full, "name") == set()
    assert who(full, "location") == set()
    assert who(full, "orders", 1) == ORDER_BY_LAW
    assert {r["key_action"] for r in full["receipt"]} == {"destroyed"}
    assert all(r["key_ids"] for r in full["receipt"])
    told = {n["agency"] for n in full["notices"]}
    assert told == CONSENTED - {"gr_police"}
    assert all(n["type"] == "haven.erasure.notice.v1" for n in full["notices"])
    assert report["sealed_fields"] == {"erased": 4, "readable": 2}
    assert "subject keys: destroyed" in out
    assert "ERASED" in out.split("opened with the keyring now", 1)[1]
    later = report["steps"][7]
    assert who(later, "notes") == {"gr_ngo"}  # new key epoch, its producer only


def test_log_dlq_and_audit_hold(demo: Any) -> None:
    out, report, _left = demo
    verdicts = report["verdicts"]
    assert verdicts["haven audit verify holds"]
    assert verdicts["haven audit replay holds"]
    assert verdicts["no plaintext personal value in the log or the DLQ"]
    assert report["dlq_reasons"] == ["agency_mismatch", "invalid_json"]
    assert report["replay"]["ok"]
    assert report["replay"]["events"] == report["log_records"]
    assert "haven audit verify" in out
    assert "haven audit replay" in out
    assert "YES" not in out
