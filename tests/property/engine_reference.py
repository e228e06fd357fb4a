"""An independent reference model of docs/rules.md + docs/engine.md for the property test.

It imports nothing from ``projectors``: the default policy is written out by
hand below, as docs/rules.md's table states it, and the rules are re-implemented
in the plainest way.  It predicts, per agency and subject, which events the
agency holds (and with which tracked fields), from which the comparable
read-model summary follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAMILY = {
    "haven.victim.identified.v1": "identification",
    "haven.risk.assessed.v1": "risk",
    "haven.shelter.placement-started.v1": "placement",
    "haven.shelter.placement-ended.v1": "placement",
    "haven.protective-order.issued.v1": "order",
    "haven.protective-order.revoked.v1": "order",
}
PERSONAL = {"identification": "personal", "placement": "location", "order": "respondent"}

# type -> (purposes, {family: (needs_minor, own_shelter_only, personal_visible, by_purpose)})
POLICY: dict[str, tuple[set[str], dict[str, tuple[bool, bool, bool]]]] = {
    "coordinator": (
        {"care", "protection", "legal_assistance", "residence_status"},
        {
            "identification": (False, False, True),
            "risk": (False, False, False),
            "placement": (False, False, True),
            "order": (False, False, True),
        },
    ),
    "police": (
        {"protection", "investigation"},
        {
            "identification": (False, False, False),
            "risk": (False, False, False),
            "order": (False, False, True),
        },
    ),
    "court": (
        {"prosecution", "protection"},
        {
            "identification": (False, False, False),
            "risk": (False, False, False),
            "order": (False, False, True),
        },
    ),
    "shelter": (
        {"care"},
        {
            "identification": (False, False, True),
            "risk": (False, False, False),
            "placement": (False, True, True),
        },
    ),
    "ngo": (
        {"care", "legal_assistance"},
        {
            "identification": (False, False, False),
            "risk": (False, False, False),
            "placement": (False, False, False),
        },
    ),
    "legal_aid": (
        {"legal_assistance"},
        {
            "identification": (False, False, True),
            "risk": (False, False, False),
            "order": (False, False, True),
        },
    ),
    "child_protection": (
        {"care", "protection"},
        {
            "identification": (True, False, True),
            "risk": (True, False, False),
            "placement": (True, False, False),
            "order": (True, False, True),
        },
    ),
    "immigration": ({"residence_status"}, {"identification": (False, False, False)}),
    "auditor": (set(), {}),
}
GRANTING = {"coordinator", "ngo", "legal_aid", "shelter", "child_protection"}


@dataclass(frozen=True)
class Agency:
    id: str
    type: str
    jurisdiction: str


@dataclass(frozen=True)
class Ev:
    """One event as the test publishes it."""

    id: str
    type: str
    subject: str
    producer: str
    data: dict[str, Any]
    system: bool = False


@dataclass
class Delivered:
    event: Ev
    personal: bool  # the tracked personal field is visible
    lawful_only_fields: bool = False


@dataclass
class Subject:
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    identifying: str | None = None
    holders: dict[str, str] = field(default_factory=dict)
    minor: bool = False
    placements: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: dict[str, list[Delivered]] = field(default_factory=dict)
    retained: dict[str, list[Delivered]] = field(default_factory=dict)


class Reference:
    """Applies events in order; ``summary(agency, subject)`` is the prediction."""

    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = {a.id: a for a in agencies}
        self.subjects: dict[str, Subject] = {}
        self.refused: dict[tuple[str, str], set[str]] = {}

    def apply(self, ev: Ev) -> None:
        s = self.subjects.setdefault(ev.subject, Subject())
        if ev.type == "haven.consent.expired.v1":
            self._end(s, [ev.data["consent_id"]])
            return
        if ev.type == "haven.erasure.executed.v1":
            return  # key destruction: read-model rows stay, only their seal becomes unreadable
        data = dict(ev.data)
        if FAMILY.get(ev.type) == "placement":
            data.setdefault("shelter_agency", s.placements.get(data["placement_id"]))
        if FAMILY.get(ev.type) == "order":
            for key, value in s.orders.get(data["order_id"], {}).items():
                data.setdefault(key, value)
        if not self._may(s, self.agencies[ev.producer], ev.type, data):
            self.refused.setdefault((ev.producer, ev.subject), set()).add(ev.id)
            return
        if ev.type == "haven.consent.granted.v1":
            s.grants[data["consent_id"]] = {
                **data["recipients"],
                "purposes": set(data["purposes"]),
                "excluded": set(),
            }
        elif ev.type == "haven.consent.withdrawn.v1":
            self._withdraw(s, data["scope"])
        else:
            self._share(s, ev, data)

    def _holds(self, s: Subject, a: Agency) -> bool:
        return a.id in s.holders or a.id == s.identifying

    def _may(self, s: Subject, a: Agency, kind: str, data: dict[str, Any]) -> bool:
        family = FAMILY.get(kind)
        if kind == "haven.victim.identified.v1":
            return a.type != "auditor" and (s.identifying is None or self._holds(s, a))
        if family in ("risk", "placement"):
            named = (
                family == "risk" or data.get("shelter_agency") == a.id or a.type == "coordinator"
            )
            return self._holds(s, a) and named
        if family == "order":
            return a.type in ("court", "prosecutor") and a.jurisdiction == data.get(
                "issuing_jurisdiction"
            )
        contact = self._holds(s, a) and s.holders.get(a.id) != "lawful"
        return a.id == s.identifying or (a.type in GRANTING and contact)

    def _covers(self, grant: dict[str, Any], a: Agency) -> bool:
        checks = [("agencies", a.id), ("agency_types", a.type), ("jurisdictions", a.jurisdiction)]
        return a.id not in grant["excluded"] and all(
            value in grant[key] for key, value in checks if grant.get(key)
        )

    def _lawful(self, s: Subject, a: Agency, ev: Ev, data: dict[str, Any]) -> bool:
        family = FAMILY[ev.type]
        jur = self.agencies[ev.producer].jurisdiction
        if family == "order":
            return a.type in ("police", "prosecutor", "court") and a.jurisdiction in data.get(
                "recognized_in", []
            )
        if family == "risk":
            return data["level"] == "critical" and a.type == "coordinator" and a.jurisdiction == jur
        if family == "identification":
            return data["is_minor"] and a.type == "child_protection" and a.jurisdiction == jur
        return False

    def _by_consent(self, s: Subject, a: Agency, family: str, data: dict[str, Any]) -> bool | None:
        """None: no consent delivery; else whether the personal field is visible."""
        purposes: set[str] = set()
        for grant in s.grants.values():
            if self._covers(grant, a):
                purposes |= grant["purposes"]
        allowed, rules = POLICY[a.type]
        if not purposes & allowed or family not in rules:
            return None
        needs_minor, own_shelter, personal = rules[family]
        if (needs_minor and not s.minor) or (own_shelter and data.get("shelter_agency") != a.id):
            return None
        if a.type == "police" and family == "identification":
            personal = "investigation" in purposes
        return personal

    def _share(self, s: Subject, ev: Ev, data: dict[str, Any]) -> None:
        if ev.type == "haven.victim.identified.v1":
            s.identifying = s.identifying or ev.producer
            s.minor = data["is_minor"]
        if ev.type == "haven.shelter.placement-started.v1":
            s.placements[data["placement_id"]] = data["shelter_agency"]
        if ev.type == "haven.protective-order.issued.v1":
            s.orders[data["order_id"]] = {
                "issuing_jurisdiction": data["issuing_jurisdiction"],
                "recognized_in": data["recognized_in"],
            }
        family = FAMILY[ev.type]
        for a in self.agencies.values():
            consent = self._by_consent(s, a, family, data)
            lawful = self._lawful(s, a, ev, data)
            producer = a.id == ev.producer
            if consent is None and not lawful and not producer:
                continue
            lawful_personal = lawful and family in ("identification", "order")
            personal = producer or bool(consent) or lawful_personal
            if (
                family == "placement"
                and a.type != "coordinator"
                and data.get("shelter_agency") != a.id
            ):
                personal = False  # confidential location
            s.views.setdefault(a.id, []).append(Delivered(ev, personal))
            if lawful:
                s.retained.setdefault(a.id, []).append(Delivered(ev, lawful_personal))
            if family == "identification":
                full = producer or consent is not None
                if full or s.holders.get(a.id) != "full":
                    s.holders[a.id] = "full" if full else "lawful"

    def _withdraw(self, s: Subject, scope: Any) -> None:
        seen = {a for a, v in s.views.items() if v}
        if scope == "all":
            in_scope = seen
            s.grants.clear()
        elif "agencies" in scope:
            in_scope = set(scope["agencies"]) & seen
            for grant in s.grants.values():
                grant["excluded"] |= set(scope["agencies"])
        else:
            self._end(s, scope["consent_ids"])
            return
        self._erase(s, in_scope)

    def _end(self, s: Subject, consent_ids: list[str]) -> None:
        ended = [s.grants.pop(c) for c in consent_ids if c in s.grants]
        seen = {a for a, v in s.views.items() if v}
        in_scope = {a for a in seen if any(self._covers(g, self.agencies[a]) for g in ended)}
        self._erase(s, in_scope)

    def _erase(self, s: Subject, in_scope: set[str]) -> None:
        for agency in in_scope:
            s.views[agency] = list(s.retained.get(agency, []))
            s.holders.pop(agency, None)
            if any(d.event.type == "haven.victim.identified.v1" for d in s.views[agency]):
                s.holders[agency] = "lawful"

    def summary(self, agency: str, subject: str) -> dict[str, Any]:
        """What the agency's read models say about the subject, in comparable form."""
        views = self.subjects[subject].views.get(agency, []) if subject in self.subjects else []
        kinds = [d.event.type for d in views]
        register = False
        for d in views:
            if d.event.type == "haven.risk.assessed.v1":
                register = d.event.data["level"] in ("high", "critical")
        return {
            "timeline": sorted(d.event.id for d in views),
            "subjects": any(FAMILY[k] in ("identification", "risk", "placement") for k in kinds),
            "personal": any(d.personal for d in views if FAMILY[d.event.type] == "identification"),
            "risk_register": register,
            "placements": sorted(
                {d.event.data["placement_id"] for d in views if FAMILY[d.event.type] == "placement"}
            ),
            "locations": sorted(
                {
                    d.event.data["placement_id"]
                    for d in views
                    if d.event.type.endswith("started.v1") and d.personal
                }
            ),
            "orders": sorted(
                {d.event.data["order_id"] for d in views if FAMILY[d.event.type] == "order"}
            ),
            "respondents": sorted(
                {
                    d.event.data["order_id"]
                    for d in views
                    if d.event.type.endswith("issued.v1") and d.personal
                }
            ),
        }
