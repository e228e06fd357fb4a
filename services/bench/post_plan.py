"""What the bounded poster sends: fresh subjects with grants, names and erasing withdrawals.

Every personal value starts with :data:`NAME_MARK`, so a test can search
every topic, table and file for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.scenarios.builders import cloudevent

JsonObject = dict[str, Any]
#: Every personal value the plan carries starts with this: search for it anywhere.
NAME_MARK = "Qzvmarkname"


@dataclass(frozen=True)
class Plan:
    """Events per subject in order, which subjects withdraw (erasing), and which
    ones end shared with the recipient (granted, and not withdrawn)."""

    subjects: list[tuple[str, list[JsonObject]]]
    withdrawn: frozenset[str]
    shared: frozenset[str]

    @property
    def events(self) -> int:
        """How many events the plan posts."""
        return sum(len(events) for _, events in self.subjects)


def withdrawal_plan(total: int, agency: str, recipient_type: str, every: int = 4) -> Plan:
    """``total`` events: per subject an identification with a unique name, a grant to
    ``recipient_type`` (which shares the identification), the identification
    again (delivered to both at once), and for every
    ``every``-th subject an erasing withdrawal."""
    subjects: list[tuple[str, list[JsonObject]]] = []
    withdrawn: set[str] = set()
    shared: set[str] = set()
    count = 0
    while count < total:
        subject = str(uuid.uuid4())
        now = datetime.now(UTC)
        identified = _identified(len(subjects))
        events = [
            _event(agency, "haven.victim.identified.v1", subject, identified),
            _event(agency, "haven.consent.granted.v1", subject, _grant(subject, recipient_type)),
            _event(agency, "haven.victim.identified.v1", subject, identified),  # to both
        ]
        if len(subjects) % every == every - 1:
            withdrawal = {"withdrawn_at": now.isoformat(), "scope": "all"}
            events.append(_event(agency, "haven.consent.withdrawn.v1", subject, withdrawal))
            withdrawn.add(subject)
        events = events[: total - count]  # the last subject may be cut short
        if len(events) < 4:
            withdrawn.discard(subject)
        if len(events) in (2, 3):  # the grant shares the record as it stands
            shared.add(subject)
        subjects.append((subject, events))
        count += len(events)
    return Plan(subjects, frozenset(withdrawn), frozenset(shared))


def _event(agency: str, event_type: str, subject: str, data: JsonObject) -> JsonObject:
    return cloudevent(
        agency=agency,
        jurisdiction="GR",
        event_type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def _grant(subject: str, recipient_type: str) -> JsonObject:
    return {
        "consent_id": f"c-{subject[:8]}",
        "granted_at": datetime.now(UTC).isoformat(),
        "recipients": {"agency_types": [recipient_type]},
        "purposes": ["care", "protection"],
    }


def _identified(index: int) -> JsonObject:
    return {
        "identified_at": datetime.now(UTC).isoformat(),
        "nationality": ["UA"],
        "exploitation_types": ["forced_labour"],
        "indicators": [],
        "is_minor": False,
        "languages": ["uk"],
        "personal": {"full_name": f"{NAME_MARK}{index:06d} Vellacourt"},
    }
