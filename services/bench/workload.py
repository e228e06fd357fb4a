"""A CTDC-derived workload: events for M subjects across the bench's agencies."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.scenarios.builders import (
    cloudevent,
    identification,
    placement_started,
    risk_assessment,
)
from services.scenarios.ctdc import CtdcCase

BENCH_AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("it_police", "police", "IT"),
    ("it_shelter", "shelter", "IT"),
    ("ro_health", "health", "RO"),
]


@dataclass(frozen=True)
class Record:
    """One pre-encoded inbox record."""

    agency: str
    key: bytes
    value: bytes


def consent_grant(rng: random.Random, at: datetime) -> dict[str, object]:
    """A grant to the coordinators, police and shelters for care, protection, investigation."""
    return {
        "consent_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "granted_at": at.isoformat(),
        "recipients": {"agency_types": ["coordinator", "police", "shelter"]},
        "purposes": ["care", "protection", "investigation"],
    }


def workload(
    cases: list[CtdcCase],
    events: int,
    subjects: int,
    seed: int = 1,
    withdraw_share: float = 0.02,
) -> list[Record]:
    """``events`` records: each subject's first event is its identification and its
    second a consent grant; then risk assessments, placements and (rarely)
    withdrawals of all consent, from a home agency per subject."""
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(subjects)]
    started: set[str] = set()
    granted: set[str] = set()
    records = []
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(events):
        subject = ids[n % subjects]
        agency, _kind, country = BENCH_AGENCIES[int(subject[:8], 16) % len(BENCH_AGENCIES)]
        at = base + timedelta(minutes=n)
        if subject not in started:
            started.add(subject)
            kind, data = (
                "haven.victim.identified.v1",
                identification(cases[n % len(cases)], rng, at),
            )
        elif subject not in granted:
            granted.add(subject)
            kind, data = "haven.consent.granted.v1", consent_grant(rng, at)
        elif rng.random() < withdraw_share:
            granted.discard(subject)
            kind, data = (
                "haven.consent.withdrawn.v1",
                {"withdrawn_at": at.isoformat(), "scope": "all"},
            )
        elif rng.random() < 0.7:
            kind, data = "haven.risk.assessed.v1", risk_assessment(rng, at)
        else:
            kind, data = "haven.shelter.placement-started.v1", placement_started(rng, at, agency)
        event = cloudevent(
            agency=agency,
            jurisdiction=country,
            event_type=kind,
            subject=subject,
            time=at,
            data=data,
            event_id=str(uuid.UUID(int=rng.getrandbits(128))),
        )
        records.append(Record(agency, subject.encode(), json.dumps(event).encode()))
    return records
