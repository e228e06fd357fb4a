"""Disclosure, export and consent records over HTTP on the real broker and Postgres."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.api_rig import (
    SECRET_NAME,
    ApiStack,
    event,
    eventually,
    grant,
    identification,
    risk,
)

pytestmark = pytest.mark.integration
EVIDENCE = {
    "method": "written",
    "notice_version": "nrm-2026-10",
    "notice_language": "uk",
    "recorded_by_role": "caseworker",
    "interpreter_used": True,
}
RIGHTS = ("disclosure", "export", "consents")


def _send(stack: ApiStack, events: list[dict[str, Any]]) -> None:
    headers = {"content-type": "application/cloudevents-batch+json"}
    response = stack.post("gr_ngo", events, **headers)
    assert response.status_code == 202, response.text


@pytest.fixture(scope="module")
def subjects(stack: ApiStack) -> dict[str, str]:
    """``shared``: identified (wrong date of birth), granted, corrected; ``withdrawn``:
    critical risk (coordinator by law), granted, then everything withdrawn."""
    shared, withdrawn = str(uuid.uuid4()), str(uuid.uuid4())
    wrong = identification()
    wrong["personal"] |= {"date_of_birth": "1990-01-01"}
    first = event("gr_ngo", "haven.victim.identified.v1", shared, wrong)
    consent = grant(["gr_coord", "gr_shelter", "gr_immig"], ["care", "residence_status"])
    fixed = {"personal": wrong["personal"] | {"date_of_birth": "1999-12-31"}}
    _send(
        stack,
        [
            first,
            event("gr_ngo", "haven.risk.assessed.v1", shared, risk("high")),
            event("gr_ngo", "haven.consent.granted.v1", shared, consent | {"evidence": EVIDENCE}),
            event(
                "gr_ngo",
                "haven.record.rectified.v1",
                shared,
                {"target_event_id": first["id"], "fields": fixed, "reason": "wrong_fact"},
            ),
            event("gr_ngo", "haven.victim.identified.v1", withdrawn, identification()),
            event("gr_ngo", "haven.risk.assessed.v1", withdrawn, risk("critical")),
            event("gr_ngo", "haven.consent.granted.v1", withdrawn, grant(["gr_coord"], ["care"])),
            event(
                "gr_ngo",
                "haven.consent.withdrawn.v1",
                withdrawn,
                {"withdrawn_at": "2026-11-02T10:00:00Z", "scope": "all"},
            ),
        ],
    )

    def corrected() -> bool:
        row = stack.get("gr_shelter", f"/v1/subjects/{shared}")
        return row.status_code == 200 and row.json()["personal"]["date_of_birth"] == "1999-12-31"

    eventually(corrected)
    eventually(lambda: stack.get("gr_ngo", f"/v1/subjects/{withdrawn}").status_code == 404)
    return {"shared": shared, "withdrawn": withdrawn}


def test_only_the_identifying_agency_and_holding_coordinators_may_ask(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    shared = subjects["shared"]
    for right in RIGHTS:
        for agency in ("gr_ngo", "gr_coord"):
            assert stack.get(agency, f"/v1/subjects/{shared}/{right}").status_code == 200
        for agency in ("gr_shelter", "gr_immig", "gr_police", "gr_audit", "de_police"):
            response = stack.get(agency, f"/v1/subjects/{shared}/{right}")
            assert response.status_code == 403, (agency, right)
            assert response.json()["reason"] == "forbidden"
        unknown = stack.get("gr_ngo", f"/v1/subjects/{uuid.uuid4()}/{right}")
        assert unknown.status_code == 403


def test_disclosure_lists_holders_bases_fields_and_reads_without_values(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    shared = subjects["shared"]
    stack.get("gr_immig", f"/v1/subjects/{shared}")
    report = stack.get("gr_ngo", f"/v1/subjects/{shared}/disclosure").json()
    holders = {h["agency_id"]: h for h in report["holders"]}
    assert set(holders) == {"gr_ngo", "gr_coord", "gr_shelter", "gr_immig"}
    immigration = holders["gr_immig"]
    assert immigration["fields"] == {"haven.victim.identified.v1": ["is_minor", "nationality"]}
    assert immigration["bases"] == ["consent"]
    assert len(immigration["consent_ids"]) == 1
    assert holders["gr_ngo"]["bases"] == ["producer"]
    assert "personal" in holders["gr_shelter"]["fields"]["haven.victim.identified.v1"]
    reads = {(r["agency_id"], r["endpoint"]) for r in report["reads"]}
    assert ("gr_immig", "subject") in reads
    assert report["rectifications"][0]["field_names"] == ["personal"]
    shared_counts = {s["agency_id"]: s["events_shared"] for s in report["shared_by_grants"]}
    assert shared_counts == {"gr_coord": 2, "gr_shelter": 2, "gr_immig": 1}
    text = str(report)
    assert SECRET_NAME not in text
    assert "1999-12-31" not in text
    assert "1990-01-01" not in text


def test_a_disclosure_after_a_full_withdrawal_lists_the_erasure_and_the_retained_rows(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    report = stack.get("gr_ngo", f"/v1/subjects/{subjects['withdrawn']}/disclosure").json()
    erased = {(e["agency_id"], e["cause"]) for e in report["erasures"] if e["rows_erased"]}
    assert ("gr_coord", "withdrawal:all") in erased
    assert ("gr_ngo", "withdrawal:all") in erased
    kept = [e for e in report["erasures"] if e["rows_retained"]]
    assert {e["agency_id"] for e in kept} == {"gr_coord"}
    assert all(e["retained_bases"] for e in kept)
    holders = {h["agency_id"]: h for h in report["holders"]}
    assert set(holders) == {"gr_coord"}
    assert holders["gr_coord"]["lawful_bases"] == kept[0]["retained_bases"]
    assert holders["gr_coord"]["consent_ids"] == []


def test_export_returns_exactly_the_callers_own_view_opened(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    shared = subjects["shared"]
    mine = stack.get("gr_ngo", f"/v1/subjects/{shared}/export").json()
    assert mine["agency_id"] == "gr_ngo"
    (row,) = mine["read_models"]["subjects"]
    assert row["personal"]["full_name"] == SECRET_NAME
    assert row["personal"]["date_of_birth"] == "1999-12-31"
    assert row == stack.get("gr_ngo", f"/v1/subjects/{shared}").json()
    assert len(mine["read_models"]["timeline"]) == 2
    coordinator = stack.get("gr_coord", f"/v1/subjects/{shared}/export").json()
    assert coordinator["agency_id"] == "gr_coord"
    own_view = stack.get("gr_coord", f"/v1/subjects/{shared}").json()
    assert coordinator["read_models"]["subjects"] == [own_view]
    assert "1990-01-01" not in str(mine) + str(coordinator)


def test_consent_records_carry_the_evidence(stack: ApiStack, subjects: dict[str, str]) -> None:
    (record,) = stack.get("gr_ngo", f"/v1/subjects/{subjects['shared']}/consents").json()
    assert record["consent_status"] == "given"
    assert record["controller"] == "gr_ngo"
    assert record["notice"] == {"version": "nrm-2026-10", "language": "uk"}
    assert record["collection"]["method"] == "written"
    assert record["collection"]["interpreter_used"] is True
    (ended,) = stack.get("gr_ngo", f"/v1/subjects/{subjects['withdrawn']}/consents").json()
    assert ended["consent_status"] == "withdrawn"
    assert [e["event_type"] for e in ended["events"]] == ["given", "withdrawn"]


def test_each_answer_is_in_the_access_log(stack: ApiStack, subjects: dict[str, str]) -> None:
    shared = subjects["shared"]
    for right in RIGHTS:
        stack.get("gr_coord", f"/v1/subjects/{shared}/{right}")
    with stack.pipeline.engine.connect() as conn:
        logged = conn.execute(
            sa.text(
                "SELECT DISTINCT endpoint FROM haven_core.access_log"
                " WHERE subject_id = :s AND agency_id = 'gr_coord'"
            ),
            {"s": shared},
        ).scalars()
        assert set(RIGHTS) <= set(logged)


def test_the_auditors_trail_shows_who_corrected_what_and_the_shared_counts(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    trail = stack.get("gr_audit", f"/v1/audit/trail/{subjects['shared']}")
    assert trail.status_code == 200
    (fix,) = trail.json()["rectifications"]
    assert (fix["producer"], fix["reason"], fix["field_names"]) == (
        "gr_ngo",
        "wrong_fact",
        ["personal"],
    )
    assert sorted(fix["agencies"]) == ["gr_coord", "gr_immig", "gr_ngo", "gr_shelter"]
    shared = {s["agency_id"]: s["events_shared"] for s in trail.json()["shared_by_grants"]}
    assert shared == {"gr_coord": 2, "gr_shelter": 2, "gr_immig": 1}
    assert "1999-12-31" not in trail.text
    assert SECRET_NAME not in trail.text
