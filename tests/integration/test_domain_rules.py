"""docs/rules.md "Who receives what" and "Who may produce what", one rule at a time, real engine."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from tests.conftest import fresh_database

IDENTIFIED = "haven.victim.identified.v1"
RISK = "haven.risk.assessed.v1"
STARTED = "haven.shelter.placement-started.v1"
ISSUED = "haven.protective-order.issued.v1"
REVOKED = "haven.protective-order.revoked.v1"
GRANTED = "haven.consent.granted.v1"
WITHDRAWN = "haven.consent.withdrawn.v1"

AGENCIES = [
    ("ngo_gr", "ngo", "GR"),
    ("coord_gr", "coordinator", "GR"),
    ("coord_it", "coordinator", "IT"),
    ("police_gr", "police", "GR"),
    ("police_it", "police", "IT"),
    ("court_gr", "court", "GR"),
    ("court_it", "court", "IT"),
    ("shelter_gr", "shelter", "GR"),
    ("shelter_it", "shelter", "IT"),
    ("imm_gr", "immigration", "GR"),
    ("cp_gr", "child_protection", "GR"),
    ("legal_gr", "legal_aid", "GR"),
    ("audit_gr", "auditor", "GR"),
]


def ident(minor: bool = False) -> dict[str, Any]:
    return {
        "identified_at": "2026-11-01T10:00:00Z",
        "nationality": ["NG"],
        "exploitation_types": ["sexual"],
        "indicators": ["debt bondage"],
        "is_minor": minor,
        "gender": "female",
        "age_band": "18-24",
        "languages": ["en"],
        "personal": {"full_name": "Test Person"},
    }


def risk(level: str = "high") -> dict[str, Any]:
    return {
        "assessed_at": "2026-11-01T12:00:00Z",
        "level": level,
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "notes": "private note",
    }


def grant(
    consent_id: str = "c1",
    purposes: tuple[str, ...] = ("care", "protection"),
    **recipients: list[str],
) -> dict[str, Any]:
    return {
        "consent_id": consent_id,
        "granted_at": "2026-11-01T11:00:00Z",
        "recipients": recipients,
        "purposes": list(purposes),
    }


def withdraw(scope: Any = "all", erase: bool = False) -> dict[str, Any]:
    return {"withdrawn_at": "2026-11-02T10:00:00Z", "scope": scope, "erase_personal_data": erase}


def placement(shelter: str, placement_id: str) -> dict[str, Any]:
    return {
        "placement_id": placement_id,
        "shelter_agency": shelter,
        "started_at": "2026-11-01T13:00:00Z",
        "placement_type": "emergency",
        "child_friendly": False,
        "location": "Street 1",
    }


def order(oid: str, issuing: str = "GR", recognized: tuple[str, ...] = ("IT",)) -> dict[str, Any]:
    return {
        "order_id": oid,
        "issued_at": "2026-11-01T14:00:00Z",
        "issuing_jurisdiction": issuing,
        "order_type": "no_contact",
        "valid_from": "2026-11-01T14:00:00Z",
        "valid_until": "2027-11-01T14:00:00Z",
        "recognized_in": list(recognized),
        "respondent": {"name": "R"},
    }


class Case:
    """One subject on a rig with every agency registered."""

    def __init__(self, rig: EngineRig) -> None:
        self.rig = rig
        self.subject = str(uuid.uuid4())
        self.oid = f"o-{self.subject[:8]}"

    def send(self, agency: str, event_type: str, data: dict[str, Any], jur: str = "GR") -> str:
        event_id = self.rig.publish(
            agency, event_type, data, subject=self.subject, jurisdiction=jur
        )
        self.rig.run()
        return event_id

    def subject_row(self, agency: str) -> dict[str, Any] | None:
        rows = [r for r in self.rig.rows(agency, "subjects") if r["subject_id"] == self.subject]
        return rows[0] if rows else None

    def timeline(self, agency: str) -> list[str]:
        rows = self.rig.rows(agency, "timeline")
        return [r["event_type"] for r in rows if r["subject_id"] == self.subject]

    def refusals(self, agency: str) -> set[str]:
        rows = self.rig.rows(agency, "refusals")
        return {r["reason"] for r in rows if r["subject_id"] == self.subject}

    def table(self, agency: str, table: str) -> list[dict[str, Any]]:
        return [r for r in self.rig.rows(agency, table) if r["subject_id"] == self.subject]


@contextmanager
def agency_rig(infra: Endpoints, agencies: list[tuple[str, str, str]]) -> Iterator[EngineRig]:
    """A fresh database with ``agencies`` registered and applied."""
    with fresh_database(infra) as url:
        engine = sync_engine(url)
        rig = EngineRig(engine, secrets.token_bytes(32))
        for agency_id, kind, country in agencies:
            rig.register(agency_id, kind, country)
        rig.run()
        yield rig
        engine.dispose()


@pytest.fixture(scope="module")
def module_rig(infra: Endpoints) -> Iterator[EngineRig]:
    """One database and agency set for the module; each test uses its own subject."""
    with agency_rig(infra, AGENCIES) as rig:
        yield rig


@pytest.fixture
def case(module_rig: EngineRig) -> Case:
    return Case(module_rig)


# -- who receives what -------------------------------------------------------


def test_the_producer_sees_its_own_event_whole(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    row = case.subject_row("ngo_gr")
    assert row is not None
    assert row["personal"]["sealed"] == "v1"
    assert case.subject_row("coord_gr") is None, "no consent, no lawful basis: nobody else"


def test_a_grant_by_agency_id_reaches_only_that_agency(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agencies=["coord_gr"]))
    case.send("ngo_gr", IDENTIFIED, ident())
    assert case.subject_row("coord_gr") is not None
    assert case.subject_row("coord_it") is None


def test_a_grant_by_type_and_jurisdiction_needs_both_to_match(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agency_types=["coordinator"], jurisdictions=["IT"]))
    case.send("ngo_gr", IDENTIFIED, ident())
    assert case.subject_row("coord_it") is not None
    assert case.subject_row("coord_gr") is None, "jurisdiction does not match"
    assert case.subject_row("police_it") is None, "type does not match"


def test_police_see_personal_fields_only_for_investigation(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agencies=["police_gr"], purposes=("protection",)))
    case.send("ngo_gr", IDENTIFIED, ident())
    row = case.subject_row("police_gr")
    assert row is not None
    assert row["nationality"] == ["NG"]
    assert row["personal"] is None
    case.send("ngo_gr", GRANTED, grant("c2", purposes=("investigation",), agencies=["police_gr"]))
    case.send("ngo_gr", IDENTIFIED, ident())
    assert case.subject_row("police_gr")["personal"] is not None  # type: ignore[index]


def test_shelter_location_only_to_the_shelter_itself_and_coordinators(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agency_types=["shelter", "coordinator", "ngo"]))
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("shelter_gr", STARTED, placement("shelter_gr", case.oid + "p1"))
    assert case.table("shelter_gr", "placements")[0]["location"] is not None
    assert case.table("coord_gr", "placements")[0]["location"] is not None
    assert case.table("shelter_it", "placements") == [], "not its shelter"
    assert case.table("ngo_gr", "placements")[0]["location"] is None, "ngo: never location"


def test_immigration_sees_only_nationality_and_minority(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send(
        "ngo_gr", GRANTED, grant(agency_types=["immigration"], purposes=("residence_status",))
    )  # the grant shares the identification (no second one needed)
    case.send("ngo_gr", RISK, risk())
    row = case.subject_row("imm_gr")
    assert row is not None
    shown = {k for k, v in row.items() if v is not None}
    assert shown <= {
        "subject_id",
        "nationality",
        "is_minor",
        "identified_in",
        "identified_at",
        "open_protective_orders",
        "last_event_at",
    }
    assert row["exploitation_types"] is None
    assert case.timeline("imm_gr") == [IDENTIFIED], "no risk events reach immigration"


def test_critical_risk_reaches_the_jurisdictions_coordinator_without_notes(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", RISK, risk("critical"))
    register = case.table("coord_gr", "risk_register")
    assert register[0]["level"] == "critical"
    assert register[0]["notes"] is None
    assert case.table("coord_it", "risk_register") == []
    case.send("ngo_gr", RISK, risk("high"))
    assert case.table("coord_gr", "risk_register")[0]["level"] == "critical", "high: no basis"


def test_identification_of_a_minor_reaches_child_protection(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident(minor=True))
    row = case.subject_row("cp_gr")
    assert row is not None
    assert row["personal"] is not None


def test_protective_orders_reach_police_prosecutors_courts_where_recognised(case: Case) -> None:
    case.send("court_gr", ISSUED, order(case.oid, recognized=("IT",)))
    assert len(case.table("police_it", "protective_orders")) == 1
    assert len(case.table("court_it", "protective_orders")) == 1
    assert case.table("police_gr", "protective_orders") == []
    assert case.subject_row("police_it") is None, "orders alone create no subjects row"
    case.send(
        "court_gr",
        REVOKED,
        {"order_id": case.oid, "revoked_at": "2026-12-01T00:00:00Z", "reason": "appeal"},
    )
    assert case.table("police_it", "protective_orders")[0]["revoked_at"] is not None


def test_a_subjects_row_counts_the_open_orders_it_was_sent(case: Case) -> None:
    case.send("court_gr", ISSUED, order(case.oid, recognized=("IT",)))
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agencies=["police_it"]))
    row = case.subject_row("police_it")
    assert row is not None, "the grant shares the identification"
    assert row["open_protective_orders"] == 1, "the order came before the row"
    case.send(
        "court_gr",
        REVOKED,
        {"order_id": case.oid, "revoked_at": "2026-12-01T00:00:00Z", "reason": "appeal"},
    )
    row = case.subject_row("police_it")
    assert row is not None
    assert row["open_protective_orders"] == 0


def test_a_new_grant_shares_the_current_record_once(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", RISK, risk())
    case.send("ngo_gr", GRANTED, grant(agencies=["coord_gr"]))
    assert sorted(case.timeline("coord_gr")) == sorted([IDENTIFIED, RISK])
    case.send("ngo_gr", RISK, risk("medium"))
    assert sorted(case.timeline("coord_gr")) == sorted([IDENTIFIED, RISK, RISK])
    case.send("ngo_gr", GRANTED, grant("c2", agencies=["coord_gr"]))
    assert len(case.timeline("coord_gr")) == 3, "nothing is shared twice"


# -- withdrawal and expiry ---------------------------------------------------


def _shared(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant("c1", agencies=["coord_gr"]))
    case.send("ngo_gr", GRANTED, grant("c2", agencies=["shelter_gr"], purposes=("care",)))
    case.send("ngo_gr", IDENTIFIED, ident())


def test_withdrawing_all_erases_every_consent_based_row_rule_1_included(case: Case) -> None:
    _shared(case)
    case.send("ngo_gr", WITHDRAWN, withdraw("all"))
    for agency in ("ngo_gr", "coord_gr", "shelter_gr"):
        assert case.subject_row(agency) is None
        assert case.timeline(agency) == []
    case.send("ngo_gr", RISK, risk("critical"))
    assert case.timeline("ngo_gr") == [RISK], "a later event reaches its producer"
    assert case.timeline("coord_gr") == [RISK], "and rule-3 recipients (critical risk)"
    assert case.timeline("shelter_gr") == []


def test_withdrawing_consent_ids_ends_only_those_grants(case: Case) -> None:
    _shared(case)
    case.send("ngo_gr", WITHDRAWN, withdraw({"consent_ids": ["c2"]}))
    assert case.subject_row("shelter_gr") is None
    assert case.subject_row("coord_gr") is not None
    assert case.subject_row("ngo_gr") is not None


def test_withdrawing_for_agencies_ends_only_their_coverage(case: Case) -> None:
    _shared(case)
    case.send("ngo_gr", WITHDRAWN, withdraw({"agencies": ["coord_gr"]}))
    assert case.subject_row("coord_gr") is None
    assert case.subject_row("shelter_gr") is not None
    case.send("ngo_gr", IDENTIFIED, ident())
    assert case.subject_row("coord_gr") is None, "no longer covered"


def test_expiry_ends_that_grant(case: Case) -> None:
    _shared(case)
    case.rig.system(
        "haven.consent.expired.v1",
        {"consent_id": "c1", "expired_at": "2026-11-03T00:00:00Z"},
        subject=case.subject,
    )
    case.rig.run()
    assert case.subject_row("coord_gr") is None
    assert case.subject_row("shelter_gr") is not None


def test_legal_obligation_rows_stay_and_the_receipt_names_the_basis(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agency_types=["police"], purposes=("protection",)))
    case.send("court_gr", ISSUED, order(case.oid, recognized=("IT",)))
    case.send("ngo_gr", WITHDRAWN, withdraw("all"))
    assert len(case.table("police_it", "protective_orders")) == 1
    receipts = [
        r
        for r in case.rig.receipts(case.subject)
        if r["agency_id"] == "police_it" and r["projector"] == "protective_orders"
    ]
    assert receipts[0]["rows_retained"] == 1
    assert receipts[0]["retained_bases"] == ["protective_order_recognition"]
    assert "Test Person" not in str(case.rig.receipts(case.subject))


# -- who may produce what ----------------------------------------------------


def test_an_auditor_may_not_identify(case: Case) -> None:
    case.send("audit_gr", IDENTIFIED, ident())
    assert "not_entitled_to_produce" in case.refusals("audit_gr")
    assert case.subject_row("audit_gr") is None


def test_a_later_identification_from_a_non_holder_is_refused(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    refused = case.send("coord_it", IDENTIFIED, ident(), jur="IT")
    assert refused in {r["event_id"] for r in case.rig.rows("coord_it", "refusals")}
    assert case.subject_row("coord_it") is None


def test_risk_from_an_agency_that_does_not_hold_the_subject_is_refused(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("police_gr", RISK, risk())
    assert case.refusals("police_gr") == {"not_entitled_to_produce"}
    assert case.timeline("ngo_gr") == [IDENTIFIED]


def test_a_placement_only_from_the_named_shelter_or_a_coordinator(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("ngo_gr", GRANTED, grant(agency_types=["shelter", "coordinator"]))
    case.send("ngo_gr", IDENTIFIED, ident())
    case.send("shelter_gr", STARTED, placement("shelter_it", case.oid + "p9"))
    assert case.refusals("shelter_gr") == {"not_entitled_to_produce"}
    case.send("coord_gr", STARTED, placement("shelter_gr", case.oid + "p8"))
    assert [p["placement_id"] for p in case.table("coord_gr", "placements")] == [case.oid + "p8"]


def test_orders_only_from_courts_or_prosecutors_of_the_issuing_jurisdiction(case: Case) -> None:
    case.send("police_gr", ISSUED, order(case.oid))
    assert case.refusals("police_gr") == {"not_entitled_to_produce"}
    case.send("court_it", ISSUED, order(case.oid, issuing="GR"), jur="IT")
    assert case.refusals("court_it") == {"not_entitled_to_produce"}
    assert case.table("police_it", "protective_orders") == []


def test_granting_itself_access_without_holding_the_subject_is_refused(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident())
    refused = case.send("coord_it", GRANTED, grant(agencies=["coord_it"]), jur="IT")
    case.send("ngo_gr", IDENTIFIED, ident())
    assert case.subject_row("coord_it") is None
    assert case.refusals("coord_it") == {"not_entitled_to_grant"}
    trail = {r["event_id"]: r["reason"] for r in case.rig.refusals_core()}
    assert trail[refused] == "not_entitled_to_grant"


def test_a_rule_3_only_recipient_may_not_withdraw(case: Case) -> None:
    case.send("ngo_gr", IDENTIFIED, ident(minor=True))
    assert case.subject_row("cp_gr") is not None
    case.send("cp_gr", WITHDRAWN, withdraw("all"))
    assert case.refusals("cp_gr") == {"not_entitled_to_withdraw"}
    assert case.subject_row("ngo_gr") is not None


def test_erasure_from_an_ngo_that_did_not_identify_is_not_honoured(case: Case) -> None:
    case.send("coord_gr", IDENTIFIED, ident())
    case.send("coord_gr", GRANTED, grant(agency_types=["ngo"]))
    case.send("coord_gr", IDENTIFIED, ident())
    case.send("ngo_gr", WITHDRAWN, withdraw("all", erase=True))
    summary = [r for r in case.rig.receipts(case.subject) if r["agency_id"] == "*"]
    assert summary[0]["key_action"] == "not_honoured"
    assert "identifying agency" in summary[0]["key_reason"]
    assert case.subject_row("coord_gr") is None, "the withdrawal itself applies"
