"""The story's CloudEvents, built with the scenario builders (synthetic personal data)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.demo import cast
from services.scenarios.builders import cloudevent, identification, placement_started
from services.scenarios.ctdc import CtdcCase

JsonObject = dict[str, Any]


class StoryEvents:
    """Events about one subject; ``hours`` counts from the start of the case."""

    def __init__(self, subject: str, start: datetime, rng: random.Random) -> None:
        self.subject, self.start, self.rng = subject, start, rng
        self.order_id = f"order-{subject[:8]}"

    def at(self, hours: float) -> datetime:
        """The time ``hours`` into the case."""
        return self.start + timedelta(hours=hours)

    def _event(self, agency: str, kind: str, hours: float, data: JsonObject) -> JsonObject:
        return cloudevent(
            agency=agency,
            jurisdiction=cast.country_of(agency),
            event_type=f"haven.{kind}.v1",
            subject=self.subject,
            time=self.at(hours),
            data=data,
        )

    def identified(self, case: CtdcCase, hours: float) -> JsonObject:
        """The NGO's identification: a CTDC record, a synthetic name."""
        personal = cast.SURVIVOR | {"date_of_birth": cast.WRONG_DATE_OF_BIRTH}
        data = identification(case, self.rng, self.at(hours)) | {"personal": personal}
        data["identified_at"] = self.at(0).isoformat()
        return self._event("gr_ngo", "victim.identified", hours, data)

    def corrected(self, target_event_id: str, hours: float) -> JsonObject:
        """The NGO corrects the date of birth it typed in wrong (day and month swapped)."""
        data = {
            "target_event_id": target_event_id,
            "fields": {"personal": cast.SURVIVOR},
            "reason": "typo",
        }
        return self._event("gr_ngo", "record.rectified", hours, data)

    def granted(self, hours: float) -> JsonObject:
        """Consent to the named agencies for care, protection, legal aid, residence."""
        data = {
            "consent_id": f"consent-{self.subject[:8]}",
            "granted_at": self.at(hours).isoformat(),
            "recipients": {"agencies": cast.CONSENTED},
            "purposes": cast.PURPOSES,
        }
        return self._event("gr_ngo", "consent.granted", hours, data)

    def self_grant(self, hours: float) -> JsonObject:
        """An agency that does not hold her tries to grant itself access."""
        data = {
            "consent_id": f"grab-{self.subject[:8]}",
            "granted_at": self.at(hours).isoformat(),
            "recipients": {"agencies": ["de_labour"]},
            "purposes": ["investigation"],
        }
        return self._event("de_labour", "consent.granted", hours, data)

    def critical_risk(self, hours: float) -> JsonObject:
        """The police's assessment: critical, she needs to leave Athens."""
        data = {
            "assessed_at": self.at(hours).isoformat(),
            "level": "critical",
            "factors": ["retaliation", "threats_to_family", "re_trafficking"],
            "immediate_needs": ["emergency_shelter", "safe_transport", "interpreter"],
            "review_by": (self.at(hours) + timedelta(days=7)).date().isoformat(),
            "notes": cast.CRITICAL_NOTES,
        }
        return self._event("gr_police", "risk.assessed", hours, data)

    def placement(self, hours: float) -> JsonObject:
        """Emergency placement in the Bari shelter."""
        data = placement_started(self.rng, self.at(hours), "it_shelter")
        data |= {"placement_type": "emergency", "location": cast.SHELTER_ADDRESS}
        return self._event("it_shelter", "shelter.placement-started", hours, data)

    def order(self, hours: float) -> JsonObject:
        """A no-contact order of the Bari court, recognised in Italy and Greece."""
        data = {
            "order_id": self.order_id,
            "issued_at": self.at(hours).isoformat(),
            "issuing_jurisdiction": "IT",
            "order_type": "no_contact",
            "valid_from": self.at(hours).isoformat(),
            "valid_until": (self.at(hours) + timedelta(days=365)).isoformat(),
            "recognized_in": ["IT", "GR"],
            "respondent": cast.RESPONDENT,
        }
        return self._event("it_court", "protective-order.issued", hours, data)

    def withdraw_police(self, hours: float) -> JsonObject:
        """She no longer wants the Greek police to hold her case (told to the shelter)."""
        data = {"withdrawn_at": self.at(hours).isoformat(), "scope": {"agencies": ["gr_police"]}}
        return self._event("it_shelter", "consent.withdrawn", hours, data)

    def withdraw_all(self, hours: float) -> JsonObject:
        """She withdraws everything and asks for erasure (told to her lawyer)."""
        data = {
            "withdrawn_at": self.at(hours).isoformat(),
            "scope": "all",
            "erase_personal_data": True,
        }
        return self._event("de_legal_aid", "consent.withdrawn", hours, data)

    def later_risk(self, hours: float) -> JsonObject:
        """The NGO stays in contact and records a new assessment."""
        data = {
            "assessed_at": self.at(hours).isoformat(),
            "level": "high",
            "factors": ["re_trafficking"],
            "immediate_needs": ["psychosocial_support"],
            "notes": cast.LATER_NOTES,
        }
        return self._event("gr_ngo", "risk.assessed", hours, data)


def bad_inputs() -> list[tuple[str, bytes, str]]:
    """Inputs the sealer must dead-letter: (inbox agency, raw bytes, expected reason)."""
    truncated = b'{"personal": {"full_name": "' + cast.SURVIVOR["full_name"].encode() + b'", '
    stolen = cloudevent(
        agency="it_court",
        jurisdiction="IT",
        event_type="haven.victim.identified.v1",
        subject="00000000-0000-4000-8000-000000000000",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        data={},
    )
    return [
        ("gr_ngo", truncated, "invalid_json"),
        ("gr_ngo", json.dumps(stolen).encode(), "agency_mismatch"),
    ]
