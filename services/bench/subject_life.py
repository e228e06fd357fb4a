"""One subject's life in the bench workload: who produces its next event, and what.

After its identification (by its home agency) and a consent grant to three
other agencies, a subject gets risk assessments, placements started and
ended by its home agency (which names itself as the shelter), protective
orders issued and revoked by a court or prosecutor, and now and then a
withdrawal of all consent, followed by a new grant.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scenarios.builders import (
    identification,
    placement_ended,
    placement_started,
    risk_assessment,
)
from services.scenarios.ctdc import CtdcCase

Agency = tuple[str, str, str]
PURPOSES = ["care", "protection", "investigation", "legal_assistance"]
GRANTEES = 3
WITHDRAW_SHARE = 0.02
ORDER_SHARE = 0.06


@dataclass
class Subject:
    """One subject's home agency, grantees and what is open about it."""

    id: str
    home: Agency
    grantees: list[Agency]
    identified: bool = False
    granted: bool = False
    placement: str | None = None
    order: str | None = None


Event = tuple[Agency, str, dict[str, object]]


def consent_grant(rng: random.Random, at: datetime, agencies: list[str]) -> dict[str, object]:
    """A grant to ``agencies`` for care, protection, investigation and legal assistance."""
    return {
        "consent_id": new_id(rng),
        "granted_at": at.isoformat(),
        "recipients": {"agencies": agencies},
        "purposes": PURPOSES,
    }


def new_id(rng: random.Random) -> str:
    """A UUID drawn from ``rng`` (the workload is reproducible from its seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128)))


def subjects_for(rng: random.Random, count: int, agencies: list[Agency]) -> list[Subject]:
    """``count`` subjects, each with a home agency and ``GRANTEES`` other agencies."""
    subjects = []
    for _ in range(count):
        subject = new_id(rng)
        home = agencies[int(subject[:8], 16) % len(agencies)]
        others = [a for a in agencies if a != home]
        subjects.append(Subject(subject, home, rng.sample(others, min(GRANTEES, len(others)))))
    return subjects


def _order(rng: random.Random, at: datetime, court: Agency, subject: Subject) -> Event:
    if subject.order is not None and rng.random() < 0.3:
        data: dict[str, object] = {
            "order_id": subject.order,
            "revoked_at": at.isoformat(),
            "reason": "circumstances changed",
        }
        subject.order = None
        return court, "haven.protective-order.revoked.v1", data
    subject.order = new_id(rng)
    data = {
        "order_id": subject.order,
        "issued_at": at.isoformat(),
        "issuing_jurisdiction": court[2],
        "order_type": rng.choice(["no_contact", "restraining", "residence_ban"]),
        "valid_from": at.isoformat(),
        "valid_until": (at + timedelta(days=365)).isoformat(),
        "recognized_in": sorted({court[2], subject.home[2]}),
        "respondent": {"name": f"Respondent {rng.randint(1, 999)}"},
    }
    return court, "haven.protective-order.issued.v1", data


def _placement(rng: random.Random, at: datetime, subject: Subject) -> Event:
    if subject.placement is not None:
        data = placement_ended(subject.placement, at)
        subject.placement = None
        return subject.home, "haven.shelter.placement-ended.v1", data
    subject.placement = new_id(rng)
    data = placement_started(rng, at, subject.home[0], subject.placement)  # names its producer
    return subject.home, "haven.shelter.placement-started.v1", data


def next_event(
    subject: Subject, rng: random.Random, case: CtdcCase, at: datetime, courts: list[Agency]
) -> Event:
    """The subject's next event: (producer, type, data); updates what is open."""
    if not subject.identified:
        subject.identified = True
        return subject.home, "haven.victim.identified.v1", identification(case, rng, at)
    if not subject.granted:
        subject.granted = True
        grantees = [a[0] for a in subject.grantees]
        return subject.home, "haven.consent.granted.v1", consent_grant(rng, at, grantees)
    draw = rng.random()
    if draw < WITHDRAW_SHARE:
        subject.granted = False
        data: dict[str, object] = {"withdrawn_at": at.isoformat(), "scope": "all"}
        return subject.home, "haven.consent.withdrawn.v1", data
    if courts and draw < WITHDRAW_SHARE + ORDER_SHARE:
        return _order(rng, at, courts[int(subject.id[8:12], 16) % len(courts)], subject)
    if draw < 0.3:
        return _placement(rng, at, subject)
    return subject.home, "haven.risk.assessed.v1", risk_assessment(rng, at)
