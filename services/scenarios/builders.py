"""Builders of structured-mode CloudEvents (plain dicts) for scenarios and tests."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.scenarios.ctdc import CtdcCase, fake_person, identified_at

JsonObject = dict[str, Any]


def cloudevent(
    *,
    agency: str,
    jurisdiction: str,
    event_type: str,
    subject: str,
    time: datetime,
    data: JsonObject,
    event_id: str | None = None,
) -> JsonObject:
    """A CloudEvents 1.0 structured-mode event from an agency."""
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": f"urn:haven:agency:{agency}",
        "type": event_type,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "agency": agency,
        "jurisdiction": jurisdiction,
        "data": data,
    }


def identification(case: CtdcCase, rng: random.Random, when: datetime | None = None) -> JsonObject:
    """``haven.victim.identified.v1`` data for a CTDC case."""
    at = when or identified_at(rng, case)
    return {
        "identified_at": at.isoformat(),
        "nationality": list(case.nationality),
        "exploitation_types": list(case.exploitation_types),
        "indicators": list(case.indicators),
        "is_minor": case.is_minor,
        "gender": case.gender,
        "age_band": case.age_band,
        "languages": list(case.languages),
        "personal": fake_person(rng, case),
    }


_LEVELS = ["low", "medium", "high", "critical"]
_FACTORS = [
    "retaliation",
    "re_trafficking",
    "self_harm",
    "health",
    "debt_bondage",
    "threats_to_family",
    "other",
]
_NEEDS = [
    "emergency_shelter",
    "medical_care",
    "safe_transport",
    "interpreter",
    "legal_aid",
    "psychosocial_support",
    "child_protection",
]


def risk_assessment(rng: random.Random, at: datetime, level: str | None = None) -> JsonObject:
    """``haven.risk.assessed.v1`` data."""
    return {
        "assessed_at": at.isoformat(),
        "level": level or rng.choice(_LEVELS),
        "factors": rng.sample(_FACTORS, rng.randint(1, 3)),
        "immediate_needs": rng.sample(_NEEDS, rng.randint(0, 3)),
        "review_by": (at + timedelta(days=14)).date().isoformat(),
        "notes": f"Assessment note {rng.randint(1000, 9999)}: client reports threats by recruiter.",
    }


def placement_started(
    rng: random.Random, at: datetime, shelter_agency: str, placement_id: str | None = None
) -> JsonObject:
    """``haven.shelter.placement-started.v1`` data."""
    return {
        "placement_id": placement_id or str(uuid.uuid4()),
        "shelter_agency": shelter_agency,
        "started_at": at.isoformat(),
        "placement_type": rng.choice(["emergency", "short_term", "long_term"]),
        "child_friendly": rng.random() < 0.3,
        "location": f"Safe house {rng.randint(1, 40)}, Street {rng.randint(1, 200)}",
    }


def placement_ended(placement_id: str, at: datetime) -> JsonObject:
    """``haven.shelter.placement-ended.v1`` data."""
    return {"placement_id": placement_id, "ended_at": at.isoformat(), "reason": "moved"}
