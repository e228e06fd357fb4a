"""The demo's story: one survivor's case across Greece and Italy, plus CTDC background."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.scenarios.builders import (
    cloudevent,
    identification,
    placement_started,
    risk_assessment,
)
from services.scenarios.ctdc import CtdcCase

AGENCIES = [
    ("gr_ngo", "ngo", "GR", "Athens anti-trafficking NGO"),
    ("gr_coord", "coordinator", "GR", "Greek National Referral Mechanism"),
    ("it_shelter", "shelter", "IT", "Bari emergency shelter"),
    ("it_court", "court", "IT", "Tribunale di Bari"),
]
#: Synthetic personal data of the demo's survivor (never real).
SURVIVOR = {
    "full_name": "Mira Demo-Kovalenko",
    "date_of_birth": "2001-03-09",
    "contact": "+30 690 000 0000",
}
RESPONDENT = {"name": "Respondent Demo", "description": "recruiter, Bari port"}


@dataclass(frozen=True)
class StoryEvent:
    """One step: who sends what, and a line of narration."""

    agency: str
    event: dict[str, Any]
    caption: str


def _event(
    agency: str, kind: str, subject: str, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    jurisdiction = next(j for a, _t, j, _n in AGENCIES if a == agency)
    return cloudevent(
        agency=agency,
        jurisdiction=jurisdiction,
        event_type=kind,
        subject=subject,
        time=at,
        data=data,
    )


def survivor_story(case: CtdcCase, subject: str, start: datetime) -> list[StoryEvent]:
    """Identification, risk, shelter abroad, protective order, erasing withdrawal, new event."""
    rng = random.Random(2026)
    ident = identification(case, rng, start)
    ident["personal"] = SURVIVOR
    risk = risk_assessment(rng, start + timedelta(hours=2), level="high")
    placement = placement_started(rng, start + timedelta(days=1), "it_shelter")
    order = {
        "order_id": f"order-{uuid.UUID(int=rng.getrandbits(128))}",
        "issued_at": (start + timedelta(days=2)).isoformat(),
        "issuing_jurisdiction": "IT",
        "order_type": "no_contact",
        "valid_from": (start + timedelta(days=2)).isoformat(),
        "valid_until": (start + timedelta(days=365)).isoformat(),
        "recognized_in": ["IT", "GR"],
        "respondent": RESPONDENT,
    }
    withdrawal = {
        "withdrawn_at": (start + timedelta(days=30)).isoformat(),
        "scope": "all",
        "erase_personal_data": True,
    }
    later = risk_assessment(rng, start + timedelta(days=31), level="medium")
    kinds = "haven.victim.identified.v1", "haven.risk.assessed.v1"
    return [
        StoryEvent(
            "gr_ngo",
            _event("gr_ngo", kinds[0], subject, start, ident),
            "NGO in Athens identifies the survivor",
        ),
        StoryEvent(
            "gr_ngo",
            _event("gr_ngo", kinds[1], subject, start, risk),
            "NGO assesses high risk (notes are personal)",
        ),
        StoryEvent(
            "it_shelter",
            _event("it_shelter", "haven.shelter.placement-started.v1", subject, start, placement),
            "Shelter in Bari takes her in (location is personal)",
        ),
        StoryEvent(
            "it_court",
            _event("it_court", "haven.protective-order.issued.v1", subject, start, order),
            "Court in Bari issues a no-contact order (respondent: order key)",
        ),
        StoryEvent(
            "gr_ngo",
            _event("gr_ngo", "haven.consent.withdrawn.v1", subject, start, withdrawal),
            "She withdraws consent and asks for erasure",
        ),
        StoryEvent(
            "gr_ngo",
            _event("gr_ngo", kinds[1], subject, start, later),
            "A later assessment (new key epoch)",
        ),
    ]


def background(cases: list[CtdcCase], seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """CTDC-driven identifications from the Greek NGO (agency, raw CloudEvent)."""
    rng = random.Random(seed)
    for case in cases:
        at = datetime(case.year, 6, 1, tzinfo=UTC)
        event = _event(
            "gr_ngo",
            "haven.victim.identified.v1",
            str(uuid.UUID(int=rng.getrandbits(128))),
            at,
            identification(case, rng),
        )
        yield "gr_ngo", json.dumps(event).encode()


def bad_inputs() -> list[tuple[str, bytes, str]]:
    """Inputs the sealer must dead-letter, each with the reason it should give."""
    stolen = {
        "specversion": "1.0",
        "id": "x-1",
        "source": "urn:haven:agency:it_court",
        "type": "haven.victim.identified.v1",
        "subject": str(uuid.uuid4()),
        "time": "2026-01-01T00:00:00Z",
        "agency": "it_court",
        "jurisdiction": "IT",
        "data": {},
    }
    return [
        ("gr_ngo", b'{"full_name": "' + SURVIVOR["full_name"].encode() + b'", ', "invalid_json"),
        ("gr_ngo", json.dumps(stolen).encode(), "agency_mismatch"),
    ]
