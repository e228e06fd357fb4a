"""Rules 1-3 of docs/rules.md "Who receives what" with the default policy (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events.types.consent import ConsentGranted
from projectors.consent.ledger import AgencyProfile, SubjectConsent
from projectors.consent.recipients import Delivery, EventFacts, Recipients, for_policy
from projectors.policy.loader import default_policy_path, load_policy

AGENCIES = {
    a.id: a
    for a in [
        AgencyProfile("gr_ngo", "ngo", "GR"),
        AgencyProfile("gr_coord", "coordinator", "GR"),
        AgencyProfile("it_coord", "coordinator", "IT"),
        AgencyProfile("gr_police", "police", "GR"),
        AgencyProfile("it_police", "police", "IT"),
        AgencyProfile("fr_police", "police", "FR"),
        AgencyProfile("it_shelter", "shelter", "IT"),
        AgencyProfile("gr_shelter", "shelter", "GR"),
        AgencyProfile("gr_immigration", "immigration", "GR"),
        AgencyProfile("gr_child", "child_protection", "GR"),
        AgencyProfile("gr_audit", "auditor", "GR"),
    ]
}
IDENTIFICATION = {
    "identified_at": "t",
    "nationality": ["UA"],
    "exploitation_types": ["sexual"],
    "indicators": ["x"],
    "is_minor": False,
    "languages": ["uk"],
    "personal": {"sealed": "v1"},
}
PLACEMENT = {
    "placement_id": "p1",
    "shelter_agency": "it_shelter",
    "started_at": "t",
    "placement_type": "emergency",
    "child_friendly": False,
    "location": {"sealed": "v1"},
}


@pytest.fixture(scope="module")
def rules() -> Recipients:
    return for_policy(load_policy(default_policy_path()))


def consent(**grants: tuple[list[str], dict[str, list[str]]]) -> SubjectConsent:
    ledger = SubjectConsent()
    for consent_id, (purposes, recipients) in grants.items():
        data = {
            "consent_id": consent_id,
            "granted_at": "2026-11-01T00:00:00Z",
            "recipients": recipients,
            "purposes": purposes,
        }
        ledger.apply(ConsentGranted.model_validate_json(json.dumps(data)))
    return ledger


def decide(
    rules: Recipients,
    event_type: str,
    data: dict[str, Any],
    ledger: SubjectConsent,
    producer: str = "gr_ngo",
    jurisdiction: str = "GR",
    minor: bool = False,
) -> dict[str, Delivery]:
    facts = EventFacts(event_type, producer, jurisdiction, data, minor)
    return rules.decide(facts, ledger, AGENCIES)


def test_without_consent_only_the_producer_receives(rules: Recipients) -> None:
    got = decide(rules, "haven.victim.identified.v1", IDENTIFICATION, SubjectConsent())
    assert set(got) == {"gr_ngo"}
    assert "personal" in got["gr_ngo"].fields


def test_police_see_personal_fields_only_for_investigation(rules: Recipients) -> None:
    protection = consent(c1=(["protection"], {"agency_types": ["police"]}))
    got = decide(rules, "haven.victim.identified.v1", IDENTIFICATION, protection)
    assert "personal" not in got["gr_police"].fields
    assert "nationality" in got["gr_police"].fields
    investigation = consent(c1=(["investigation"], {"agencies": ["gr_police"]}))
    got = decide(rules, "haven.victim.identified.v1", IDENTIFICATION, investigation)
    assert "personal" in got["gr_police"].fields
    assert "it_police" not in got


def test_immigration_sees_only_nationality_and_minority(rules: Recipients) -> None:
    everyone = consent(c1=(["residence_status", "care"], {"jurisdictions": ["GR"]}))
    got = decide(rules, "haven.victim.identified.v1", IDENTIFICATION, everyone)
    assert got["gr_immigration"].fields == {"nationality", "is_minor"}
    risk = {"assessed_at": "t", "level": "high", "factors": [], "immediate_needs": []}
    assert "gr_immigration" not in decide(rules, "haven.risk.assessed.v1", risk, everyone)


def test_shelter_location_only_to_the_shelter_itself_and_coordinators(rules: Recipients) -> None:
    wide = consent(c1=(["care", "protection"], {"agency_types": ["shelter", "coordinator", "ngo"]}))
    got = decide(rules, "haven.shelter.placement-started.v1", PLACEMENT, wide, producer="gr_coord")
    assert "location" in got["it_shelter"].fields
    assert "location" in got["gr_coord"].fields  # the producer, and a coordinator
    assert "location" in got["it_coord"].fields
    assert "location" not in got["gr_ngo"].fields
    assert "gr_shelter" not in got  # not its placement


def test_critical_risk_reaches_local_coordinators_without_notes(rules: Recipients) -> None:
    risk = {
        "assessed_at": "t",
        "level": "critical",
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "notes": {"sealed": "v1"},
    }
    got = decide(rules, "haven.risk.assessed.v1", risk, SubjectConsent())
    assert set(got) == {"gr_ngo", "gr_coord"}
    assert got["gr_coord"].bases == {"critical_risk_vital_interests"}
    assert "notes" not in got["gr_coord"].fields
    assert "level" in got["gr_coord"].fields


def test_protective_orders_reach_police_where_recognised(rules: Recipients) -> None:
    order = {
        "order_id": "o1",
        "issued_at": "t",
        "issuing_jurisdiction": "IT",
        "order_type": "no_contact",
        "valid_from": "t",
        "valid_until": "t",
        "recognized_in": ["IT", "GR"],
        "respondent": {"sealed": "v1"},
    }
    got = decide(
        rules,
        "haven.protective-order.issued.v1",
        order,
        SubjectConsent(),
        producer="it_police",
        jurisdiction="IT",
    )
    assert {"it_police", "gr_police"} <= set(got)
    assert "fr_police" not in got
    assert "respondent" in got["gr_police"].fields


def test_minor_identification_reaches_child_protection(rules: Recipients) -> None:
    minor = {**IDENTIFICATION, "is_minor": True}
    got = decide(rules, "haven.victim.identified.v1", minor, SubjectConsent(), minor=True)
    assert got["gr_child"].bases == {"minor_identification"}
    assert "personal" in got["gr_child"].fields


def test_auditors_receive_no_subject_data(rules: Recipients) -> None:
    everyone = consent(c1=(["care", "protection", "statistics"], {"jurisdictions": ["GR"]}))
    got = decide(rules, "haven.victim.identified.v1", IDENTIFICATION, everyone)
    assert "gr_audit" not in got
