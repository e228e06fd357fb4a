"""docs/rules.md "Who may produce what", one test per rule (pure)."""

from __future__ import annotations

from projectors.consent.entitlements import Refusal, SubjectHolders, erasure_honoured, refusal
from projectors.consent.ledger import AgencyProfile

NGO = AgencyProfile("gr_ngo", "ngo", "GR")
COORD = AgencyProfile("gr_coord", "coordinator", "GR")
SHELTER = AgencyProfile("it_shelter", "shelter", "IT")
OTHER_SHELTER = AgencyProfile("gr_shelter", "shelter", "GR")
POLICE = AgencyProfile("gr_police", "police", "GR")
IT_COURT = AgencyProfile("it_court", "court", "IT")
GR_COURT = AgencyProfile("gr_court", "court", "GR")
CHILD = AgencyProfile("gr_child", "child_protection", "GR")
AUDITOR = AgencyProfile("gr_audit", "auditor", "GR")
IDENTIFIED = "haven.victim.identified.v1"
HELD = SubjectHolders(
    "gr_ngo",
    frozenset({"gr_ngo", "gr_coord", "it_shelter", "gr_child"}),
    lawful_only=frozenset({"gr_child"}),
)


def test_first_identification_from_anyone_but_an_auditor() -> None:
    assert refusal(IDENTIFIED, NGO, {}, SubjectHolders()) is None
    assert refusal(IDENTIFIED, AUDITOR, {}, SubjectHolders()) is Refusal.NOT_ENTITLED_TO_PRODUCE


def test_later_identification_only_from_current_receivers() -> None:
    assert refusal(IDENTIFIED, COORD, {}, HELD) is None
    assert refusal(IDENTIFIED, POLICE, {}, HELD) is Refusal.NOT_ENTITLED_TO_PRODUCE


def test_risk_only_from_receivers_of_the_identification() -> None:
    assert refusal("haven.risk.assessed.v1", SHELTER, {}, HELD) is None
    assert refusal("haven.risk.assessed.v1", POLICE, {}, HELD) is Refusal.NOT_ENTITLED_TO_PRODUCE
    assert refusal("haven.risk.assessed.v1", NGO, {}, SubjectHolders()) is not None


def test_placements_only_from_the_named_shelter_or_a_coordinator() -> None:
    data = {"shelter_agency": "it_shelter"}
    started = "haven.shelter.placement-started.v1"
    assert refusal(started, SHELTER, data, HELD) is None
    assert refusal(started, COORD, data, HELD) is None
    assert refusal(started, NGO, data, HELD) is Refusal.NOT_ENTITLED_TO_PRODUCE
    holding_other = SubjectHolders("gr_ngo", HELD.receivers | {"gr_shelter"})
    assert refusal(started, OTHER_SHELTER, data, holding_other) is not None
    assert refusal("haven.shelter.placement-ended.v1", SHELTER, data, HELD) is None


def test_orders_only_from_courts_and_prosecutors_of_the_issuing_jurisdiction() -> None:
    data = {"issuing_jurisdiction": "IT"}
    for kind in ("haven.protective-order.issued.v1", "haven.protective-order.revoked.v1"):
        assert refusal(kind, IT_COURT, data, SubjectHolders()) is None
        assert refusal(kind, GR_COURT, data, SubjectHolders()) is Refusal.NOT_ENTITLED_TO_PRODUCE
        assert refusal(kind, POLICE, data, HELD) is Refusal.NOT_ENTITLED_TO_PRODUCE


def test_granting_needs_the_identifying_agency_or_an_entitled_holder() -> None:
    granted = "haven.consent.granted.v1"
    assert refusal(granted, NGO, {}, HELD) is None
    assert refusal(granted, COORD, {}, HELD) is None
    assert refusal(granted, SHELTER, {}, HELD) is None
    outsider = AgencyProfile("fr_ngo", "ngo", "FR")
    assert refusal(granted, outsider, {}, HELD) is Refusal.NOT_ENTITLED_TO_GRANT


def test_rule_three_only_recipients_cannot_withdraw() -> None:
    withdrawn = "haven.consent.withdrawn.v1"
    assert refusal(withdrawn, CHILD, {}, HELD) is Refusal.NOT_ENTITLED_TO_WITHDRAW
    assert refusal(withdrawn, SHELTER, {}, HELD) is None


def test_erasure_is_honoured_only_from_identifying_coordinator_or_legal_aid() -> None:
    assert erasure_honoured(NGO, HELD)  # the identifying agency
    assert erasure_honoured(COORD, HELD)
    assert erasure_honoured(AgencyProfile("gr_legal", "legal_aid", "GR"), HELD)
    assert not erasure_honoured(SHELTER, HELD)
