"""A CTDC-derived workload: events for M subjects across the bench's agencies.

Each subject has a home agency (its identifying agency) and, once granted,
consent for three other agencies (care, protection, investigation, legal
assistance); what each of them receives is up to the policy (a health
agency never sees placements), so the fan-out ``haven bench`` reports is
measured from the audit ledger, not assumed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.bench.subject_life import Agency, new_id, next_event, subjects_for
from services.scenarios.builders import cloudevent
from services.scenarios.ctdc import CtdcCase

__all__ = ["BENCH_AGENCIES", "Agency", "Record", "bench_agencies", "iter_workload", "workload"]

#: (id, type, jurisdiction) of the default five agencies.
BENCH_AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("it_police", "police", "IT"),
    ("it_shelter", "shelter", "IT"),
    ("ro_health", "health", "RO"),
]
#: Types and countries of the agencies after the fifth, in turn.
_TYPES = ["court", "legal_aid", "child_protection", "police", "coordinator", "shelter", "ngo"]
_COUNTRIES = ["ES", "PT", "BG", "HR", "CY", "GR", "IT", "RO"]
#: The workload's acts are a minute apart, closer when that would pass this span (300 days).
_SPAN_S = 300 * 86400.0


def bench_agencies(count: int) -> list[Agency]:
    """``count`` agencies: the default five first, then types and countries in turn."""
    agencies = list(BENCH_AGENCIES[:count])
    for n in range(count - len(agencies)):
        kind, country = _TYPES[n % len(_TYPES)], _COUNTRIES[n % len(_COUNTRIES)]
        agencies.append((f"{country.lower()}_{kind}_{n + 6}", kind, country))
    return agencies


@dataclass(frozen=True)
class Record:
    """One pre-encoded inbox record."""

    agency: str
    key: bytes
    value: bytes


def workload(
    cases: list[CtdcCase],
    events: int,
    subjects: int,
    seed: int = 1,
    agencies: list[Agency] | None = None,
) -> list[Record]:
    """The records of :func:`iter_workload`, as a list."""
    return list(iter_workload(cases, events, subjects, seed, agencies))


def iter_workload(
    cases: list[CtdcCase],
    events: int,
    subjects: int,
    seed: int = 1,
    agencies: list[Agency] | None = None,
) -> Iterator[Record]:
    """``events`` records, made one at a time (a million need not fit in memory),
    subjects in round-robin order: each subject's first event is its
    identification by its home agency, its second a consent grant to three
    other agencies; then risk assessments (~70 %), placements started
    and ended (~22 %), protective orders issued and revoked by a court or
    prosecutor when there is one (~6 %) and withdrawals of all consent (~2 %,
    followed by a new grant)."""
    rng = random.Random(seed)
    directory = agencies or BENCH_AGENCIES
    courts = [a for a in directory if a[1] in ("court", "prosecutor")]
    people = subjects_for(rng, subjects, directory)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=min(60.0, _SPAN_S / max(events, 1)))  # acts stay in the past
    for n in range(events):
        subject = people[n % subjects]
        at = base + step * n
        producer, kind, data = next_event(subject, rng, cases[n % len(cases)], at, courts)
        event = cloudevent(
            agency=producer[0],
            jurisdiction=producer[2],
            event_type=kind,
            subject=subject.id,
            time=at,
            data=data,
            event_id=new_id(rng),
        )
        yield Record(producer[0], subject.id.encode(), json.dumps(event).encode())
