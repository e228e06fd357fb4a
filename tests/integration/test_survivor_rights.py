"""Grant sharing, rectification and consent history on the real engine and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from tests.integration.test_domain_rules import (
    AGENCIES,
    GRANTED,
    IDENTIFIED,
    RISK,
    STARTED,
    WITHDRAWN,
    Case,
    agency_rig,
    grant,
    ident,
    placement,
    risk,
    withdraw,
)

RECTIFIED = "haven.record.rectified.v1"
EXTRA = [("imm_pt", "immigration", "PT"), ("shelter_pt", "shelter", "PT")]


@pytest.fixture(scope="module")
def module_rig(infra: Endpoints) -> Iterator[EngineRig]:
    with agency_rig(infra, AGENCIES + EXTRA) as rig:
        yield rig


@pytest.fixture
def case(module_rig: EngineRig) -> Case:
    return Case(module_rig)


def core(case: Case, sql: str) -> list[dict[str, Any]]:
    with case.rig.engine.connect() as conn:
        rows = conn.execute(text(sql), {"s": case.subject})
        return [dict(r._mapping) for r in rows]


def personal(case: Case, agency: str) -> Any:
    return case.rig.opened(agency, "subjects", "personal", case.subject)


def rectify(target: str, fields: dict[str, Any], retract: bool = False) -> dict[str, Any]:
    return {"target_event_id": target, "fields": fields, "reason": "wrong_fact", "retract": retract}


PT_GRANT = grant("c-pt", ("care", "residence_status"), jurisdictions=["PT"])


# -- a grant shares the current record ---------------------------------------


def test_shelter_and_immigration_see_the_identification_after_the_grant(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", RISK, risk("high"))
    assert case.subject_row("shelter_pt") is None
    grant_id = case.send("ngo_gr", GRANTED, PT_GRANT)
    shelter = case.subject_row("shelter_pt")
    assert shelter is not None
    assert shelter["risk_level"] == "high"
    assert personal(case, "shelter_pt")["full_name"] == "Test Person"
    immigration = case.subject_row("imm_pt")
    assert immigration is not None
    assert immigration["nationality"] == ["NG"]
    assert immigration["is_minor"] is False
    assert immigration["personal"] is None
    assert immigration["exploitation_types"] is None
    assert immigration["risk_level"] is None, "non-punishment: never risk"
    receipts = core(case, "SELECT * FROM haven_core.grant_receipts WHERE subject_id = :s")
    shared = {r["agency_id"]: r["events_shared"] for r in receipts}
    assert shared == {"shelter_pt": 2, "imm_pt": 1}
    assert all(r["grant_event_id"] == grant_id for r in receipts)
    ledger = core(
        case,
        "SELECT recipients FROM haven_core.audit_ledger WHERE subject_id = :s"
        " AND event_type = 'haven.consent.granted.v1'",
    )
    assert ledger[0]["recipients"] == ["imm_pt", "shelter_pt"]


def test_a_shared_identification_entitles_the_shelter_at_once(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, PT_GRANT)
    case.send("shelter_pt", STARTED, placement("shelter_pt", f"pl-{case.subject[:8]}"), "PT")
    assert case.refusals("shelter_pt") == set()
    assert case.table("shelter_pt", "placements")


def test_events_before_an_all_withdrawal_are_not_shared(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", RISK, risk("high"))
    case.send("ngo_gr", WITHDRAWN, withdraw("all"))
    case.send("ngo_gr", RISK, risk("low"))
    case.send("ngo_gr", GRANTED, grant("c-after", agencies=["coord_gr"]))
    assert case.timeline("coord_gr") == [RISK]
    assert case.subject_row("coord_gr")["risk_level"] == "low"  # type: ignore[index]


def test_rows_erased_by_an_agencies_withdrawal_come_back_through_a_new_grant(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant("c1", agencies=["coord_gr"]))
    case.send("ngo_gr", WITHDRAWN, withdraw({"agencies": ["coord_gr"]}))
    assert case.subject_row("coord_gr") is None
    case.send("ngo_gr", GRANTED, grant("c2", agencies=["coord_gr"]))
    assert case.timeline("coord_gr") == [IDENTIFIED]


# -- rectification -------------------------------------------------------------


def test_a_rectified_date_of_birth_replaces_the_old_one_everywhere(case: Case) -> None:
    wrong = ident() | {"personal": {"full_name": "Test Person", "date_of_birth": "1999-01-01"}}
    target = case.send("ngo_gr", IDENTIFIED, wrong)
    case.send("ngo_gr", GRANTED, PT_GRANT)
    fixed = {"full_name": "Test Person", "date_of_birth": "2001-06-15"}
    rect_id = case.send("ngo_gr", RECTIFIED, rectify(target, {"personal": fixed}))
    for agency in ("ngo_gr", "shelter_pt"):
        assert personal(case, agency)["date_of_birth"] == "2001-06-15"
    assert case.subject_row("imm_pt")["personal"] is None  # type: ignore[index]
    for agency in ("ngo_gr", "shelter_pt", "imm_pt"):
        assert "1999-01-01" not in str(case.rig.rows(agency, "subjects"))
    notices = [
        n["payload"]
        for n in case.rig.notices()
        if n["payload"].get("rectification_event_id") == rect_id
    ]
    assert sorted(n["agency"] for n in notices) == ["imm_pt", "ngo_gr", "shelter_pt"]
    # The corrected value never travels in a notice (ids and times are random,
    # so look for the value itself, not a fragment of it).
    assert all(n["fields"] == ["personal"] and "2001-06-15" not in str(n) for n in notices)
    audit = core(case, "SELECT * FROM haven_core.rectifications WHERE subject_id = :s")
    assert audit[0]["producer"] == "ngo_gr"
    assert audit[0]["reason"] == "wrong_fact"


def test_a_rectified_risk_level_reaches_a_grant_made_later(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    target = case.send("ngo_gr", RISK, risk("low"))
    case.send("coord_gr", RECTIFIED, rectify(target, {"level": "critical"}), "GR")
    assert case.subject_row("ngo_gr")["risk_level"] == "critical"  # type: ignore[index]
    case.send("ngo_gr", GRANTED, grant("c1", ("care",), agencies=["shelter_gr"]))
    assert case.subject_row("shelter_gr")["risk_level"] == "critical"  # type: ignore[index]


def test_a_retraction_removes_the_events_rows(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant("c1", agencies=["coord_gr"]))
    target = case.send("ngo_gr", RISK, risk("high"))
    assert case.table("coord_gr", "risk_register")
    case.send("ngo_gr", RECTIFIED, rectify(target, {}, retract=True))
    for agency in ("ngo_gr", "coord_gr"):
        assert case.timeline(agency) == [IDENTIFIED]
        assert case.table(agency, "risk_register") == []
        assert case.subject_row(agency)["risk_level"] is None  # type: ignore[index]


def test_a_rectification_by_another_agency_is_refused(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant("c1", agencies=["coord_it", "police_gr"]))
    target = case.send("ngo_gr", RISK, risk("high"))
    case.send("police_gr", RECTIFIED, rectify(target, {"level": "low"}))
    case.send("coord_it", RECTIFIED, rectify(target, {"level": "low"}), "IT")
    assert case.refusals("police_gr") == {"not_entitled_to_rectify"}
    assert case.refusals("coord_it") == {"not_entitled_to_rectify"}
    assert case.subject_row("ngo_gr")["risk_level"] == "high"  # type: ignore[index]


def test_a_rectification_that_does_not_fit_its_target_is_refused(case: Case) -> None:
    target = case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", RECTIFIED, rectify(target, {"level": "low"}))
    case.send("ngo_gr", RECTIFIED, rectify("no-such-event", {"is_minor": True}))
    assert case.refusals("ngo_gr") == {"rectification_mismatch", "unknown_target"}


# -- consent history ------------------------------------------------------------


def test_the_consent_history_keeps_evidence_withdrawals_and_expiries(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    evidence = {
        "method": "oral_witnessed",
        "notice_version": "2026-10",
        "notice_language": "en",
        "recorded_by_role": "caseworker",
        "interpreter_used": True,
    }
    case.send("ngo_gr", GRANTED, grant("c1", agencies=["coord_gr"]) | {"evidence": evidence})
    case.send("ngo_gr", GRANTED, grant("c2", agencies=["shelter_gr"]))
    case.rig.system(
        "haven.consent.expired.v1",
        {"consent_id": "c2", "expired_at": "2026-11-03T00:00:00Z"},
        subject=case.subject,
    )
    case.send("ngo_gr", WITHDRAWN, withdraw({"consent_ids": ["c1"]}))
    rows = core(
        case,
        "SELECT kind, record FROM haven_core.consent_records WHERE subject_id = :s"
        " ORDER BY log_offset",
    )
    assert [r["kind"] for r in rows] == ["granted", "granted", "expired", "withdrawn"]
    assert rows[0]["record"]["evidence"] == evidence
    assert rows[3]["record"]["ended_consent_ids"] == ["c1"]
