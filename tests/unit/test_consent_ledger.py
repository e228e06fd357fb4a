"""The consent ledger against the rules of docs/rules.md (pure: no broker, no database)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from events.types.consent import ConsentGranted, ConsentWithdrawn
from events.types.risk import RiskAssessed
from events.types.system import ConsentExpired
from projectors.consent.ledger import AgencyProfile, SubjectConsent

AT = "2026-11-01T10:00:00Z"
GR_NGO = AgencyProfile("gr_ngo", "ngo", "GR")
GR_POLICE = AgencyProfile("gr_police", "police", "GR")
IT_POLICE = AgencyProfile("it_police", "police", "IT")
IT_SHELTER = AgencyProfile("it_shelter", "shelter", "IT")


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: dict[str, Any]) -> M:
    return model.model_validate_json(json.dumps(data))


def grant(consent_id: str, purposes: list[str], **recipients: list[str]) -> ConsentGranted:
    return _parse(
        ConsentGranted,
        {
            "consent_id": consent_id,
            "granted_at": AT,
            "recipients": recipients,
            "purposes": purposes,
        },
    )


def withdraw(scope: object) -> ConsentWithdrawn:
    return _parse(ConsentWithdrawn, {"withdrawn_at": AT, "scope": scope})


@pytest.mark.parametrize(
    ("recipients", "covered"),
    [
        ({"agencies": ["gr_police"]}, {"gr_police"}),
        ({"agency_types": ["police"]}, {"gr_police", "it_police"}),
        ({"jurisdictions": ["IT"]}, {"it_police", "it_shelter"}),
        ({"agency_types": ["police"], "jurisdictions": ["IT"]}, {"it_police"}),
        ({"agencies": ["gr_ngo"], "agency_types": ["police"]}, set()),
    ],
)
def test_a_grant_covers_agencies_matching_every_given_selector(
    recipients: dict[str, list[str]], covered: set[str]
) -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["protection"], **recipients))
    agencies = [GR_NGO, GR_POLICE, IT_POLICE, IT_SHELTER]
    assert {a.id for a in agencies if ledger.purposes_for(a)} == covered


def test_purposes_are_the_union_of_covering_grants() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["protection"], agency_types=["police"]))
    ledger.apply(grant("c2", ["investigation"], jurisdictions=["IT"]))
    assert ledger.purposes_for(IT_POLICE) == {"protection", "investigation"}
    assert ledger.purposes_for(GR_POLICE) == {"protection"}


def test_withdrawal_all_ends_every_grant() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["care"], agencies=["gr_ngo"]))
    ledger.apply(grant("c2", ["protection"], agency_types=["police"]))
    change = ledger.apply(withdraw("all"))
    assert change.scope_all
    assert change.ended_grants == ("c1", "c2")
    assert not any(ledger.purposes_for(a) for a in (GR_NGO, GR_POLICE, IT_POLICE))


def test_withdrawal_by_consent_id_ends_only_those_grants() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["care"], agencies=["gr_ngo"]))
    ledger.apply(grant("c2", ["protection"], agency_types=["police"]))
    change = ledger.apply(withdraw({"consent_ids": ["c2", "unknown"]}))
    assert change.ended_grants == ("c2",)
    assert ledger.purposes_for(GR_NGO) == {"care"}
    assert ledger.purposes_for(GR_POLICE) == frozenset()


def test_withdrawal_by_agency_keeps_the_grant_for_others() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["protection"], agency_types=["police"]))
    change = ledger.apply(withdraw({"agencies": ["it_police"]}))
    assert change.withdrawn_agencies == ("it_police",)
    assert ledger.purposes_for(IT_POLICE) == frozenset()
    assert ledger.purposes_for(GR_POLICE) == {"protection"}


def test_a_new_grant_applies_from_then_on_even_after_withdrawal() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["protection"], agency_types=["police"]))
    ledger.apply(withdraw({"agencies": ["it_police"]}))
    ledger.apply(grant("c2", ["investigation"], agencies=["it_police"]))
    assert ledger.purposes_for(IT_POLICE) == {"investigation"}


def test_expiry_is_an_event_not_a_clock() -> None:
    ledger = SubjectConsent()
    data = {
        "consent_id": "c1",
        "granted_at": AT,
        "recipients": {"agencies": ["gr_ngo"]},
        "purposes": ["care"],
        "expires_at": "2000-01-01T00:00:00Z",
    }
    ledger.apply(_parse(ConsentGranted, data))
    assert ledger.purposes_for(GR_NGO) == {"care"}  # a past expires_at alone ends nothing
    change = ledger.apply(_parse(ConsentExpired, {"consent_id": "c1", "expired_at": AT}))
    assert change.ended_grants == ("c1",)
    assert ledger.purposes_for(GR_NGO) == frozenset()


def test_other_events_change_nothing() -> None:
    ledger = SubjectConsent()
    ledger.apply(grant("c1", ["care"], agencies=["gr_ngo"]))
    risk = _parse(
        RiskAssessed, {"assessed_at": AT, "level": "high", "factors": [], "immediate_needs": []}
    )
    assert ledger.apply(risk).ended_grants == ()
    assert ledger.purposes_for(GR_NGO) == {"care"}
