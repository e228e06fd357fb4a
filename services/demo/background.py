"""Background traffic from the CTDC records: other people's cases, sent alongside the story.

Each record becomes an identification by an agency of one of the three
countries; some survivors consent to their national coordinator, and many get
a risk assessment (a critical one reaches the coordinator anyway; a minor's
identification reaches child protection).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.demo.cast import country_of
from services.scenarios.builders import cloudevent, identification, risk_assessment
from services.scenarios.ctdc import CtdcCase, identified_at

PRODUCERS = ["gr_ngo", "gr_police", "it_nrm", "it_police", "de_police", "de_legal_aid"]


@dataclass
class Background:
    """The events to send, as (agency, CloudEvent), and what they are."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    cases: int = 0

    def slices(self, count: int) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The events in ``count`` consecutive slices (one per story step)."""
        size = -(-len(self.events) // max(count, 1))
        for index in range(count):
            yield self.events[index * size : (index + 1) * size]


def _case_events(case: CtdcCase, producer: str, rng: random.Random) -> list[dict[str, Any]]:
    subject, country = str(uuid.UUID(int=rng.getrandbits(128))), country_of(producer)
    at = identified_at(rng, case)

    def event(kind: str, hours: float, data: dict[str, Any]) -> dict[str, Any]:
        when = at + timedelta(hours=hours)
        return cloudevent(
            agency=producer,
            jurisdiction=country,
            event_type=f"haven.{kind}.v1",
            subject=subject,
            time=when,
            data=data,
        )

    events = [event("victim.identified", 0, identification(case, rng, at))]
    if rng.random() < 0.35:
        grant = {
            "consent_id": f"c-{subject[:8]}",
            "granted_at": (at + timedelta(hours=1)).isoformat(),
            "recipients": {"agency_types": ["coordinator"], "jurisdictions": [country]},
            "purposes": ["care", "protection"],
        }
        events.append(event("consent.granted", 1, grant))
    if rng.random() < 0.6:
        hours = rng.randint(2, 96)
        events.append(
            event("risk.assessed", hours, risk_assessment(rng, at + timedelta(hours=hours)))
        )
    return events


def background(cases: list[CtdcCase], count: int, seed: int = 7) -> Background:
    """About ``count`` events built from ``cases`` (whole cases; stops once reached)."""
    rng, found = random.Random(seed), Background()
    for index, case in enumerate(cases):
        if len(found.events) >= count:
            break
        producer = PRODUCERS[index % len(PRODUCERS)]
        for event in _case_events(case, producer, rng):
            found.events.append((producer, event))
            found.kinds[event["type"]] += 1
        found.cases += 1
    return found
