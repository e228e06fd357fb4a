"""An independent reference model of docs/rules.md + docs/engine.md for the property test.

It imports nothing from ``projectors``: the default policy is written out by
hand below, as docs/rules.md's table states it, and the rules are re-implemented
in the plainest way.  It predicts, per agency and subject, which events the
agency holds (and with which tracked fields), from which the comparable
read-model summary follows.  A grant shares the subject's record since its
last ``all`` withdrawal with the agencies it covers; a rectification
corrects (or retracts) an event wherever it is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
RECTIFIABLE = {
    "haven.victim.identified.v1": {
        "identified_at",
        "nationality",
        "exploitation_types",
        "indicators",
        "is_minor",
        "gender",
        "age_band",
        "languages",
        "personal",
    },
    "haven.risk.assessed.v1": {
        "assessed_at",
        "level",
        "factors",
        "immediate_needs",
        "review_by",
        "notes",
    },
    "haven.shelter.placement-started.v1": {
        "started_at",
        "placement_type",
        "child_friendly",
        "location",
    },
    "haven.shelter.placement-ended.v1": {"ended_at", "reason"},
}


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
    bases: frozenset[str] = frozenset()
    pos: int = 0


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
    #: accepted shareable events: (log position, event, merged data)
    record: list[tuple[int, Ev, dict[str, Any]]] = field(default_factory=list)
    record_from: int = -1
    fixes: dict[str, dict[str, Any]] = field(default_factory=dict)
    retracted: set[str] = field(default_factory=set)


class Reference:
    """Applies events in order; ``summary(agency, subject)`` is the prediction."""

    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = {a.id: a for a in agencies}
        self.subjects: dict[str, Subject] = {}
        self.refused: dict[tuple[str, str], set[str]] = {}
        self.pos = 0

    def apply(self, ev: Ev) -> None:
        self.pos += 1
        s = self.subjects.setdefault(ev.subject, Subject())
        if ev.type == "haven.record.rectified.v1":
            self._rectify(s, ev)
            return
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
            self._share_record(s, s.grants[data["consent_id"]])
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
        s.record.append((self.pos, ev, data))
        for a in self.agencies.values():
            got = self._delivery(s, a, ev, data)
            if got is not None:
                self._deliver(s, a, ev, got, self.pos, held=None)

    def _delivery(
        self, s: Subject, a: Agency, ev: Ev, data: dict[str, Any]
    ) -> tuple[bool, frozenset[str], bool] | None:
        """None, or (personal visible, bases, lawful personal visible) of one delivery."""
        family = FAMILY[ev.type]
        consent = self._by_consent(s, a, family, data)
        lawful = self._lawful(s, a, ev, data)
        producer = a.id == ev.producer
        if consent is None and not lawful and not producer:
            return None
        lawful_personal = lawful and family in ("identification", "order")
        personal = producer or bool(consent) or lawful_personal
        if family == "placement" and a.type != "coordinator" and data.get("shelter_agency") != a.id:
            personal = False  # confidential location
        bases = {"producer"} if producer else set()
        bases |= {"consent"} if consent is not None else set()
        bases |= {"lawful"} if lawful else set()
        return personal, frozenset(bases), lawful_personal

    def _deliver(
        self,
        s: Subject,
        a: Agency,
        ev: Ev,
        got: tuple[bool, frozenset[str], bool],
        pos: int,
        held: Delivered | None,
    ) -> None:
        personal, bases, lawful_personal = got
        if held is not None:
            held.personal, held.bases = held.personal or personal, held.bases | bases
            bases = held.bases
        else:
            s.views.setdefault(a.id, []).append(Delivered(ev, personal, bases, pos))
            s.views[a.id].sort(key=lambda d: d.pos)
            if "lawful" in bases:
                kept = Delivered(ev, lawful_personal, frozenset({"lawful"}), pos)
                s.retained.setdefault(a.id, []).append(kept)
                s.retained[a.id].sort(key=lambda d: d.pos)
        if FAMILY[ev.type] == "identification":
            full = bool({"producer", "consent"} & bases)
            if full or s.holders.get(a.id) != "full":
                s.holders[a.id] = "full" if full else "lawful"

    def _share_record(self, s: Subject, grant: dict[str, Any]) -> None:
        """A new grant: its agencies get every event since the last ``all`` they lack."""
        for a in self.agencies.values():
            if not self._covers(grant, a):
                continue
            for pos, ev, data in s.record:
                if pos <= s.record_from or ev.id in s.retracted:
                    continue
                got = self._delivery(s, a, ev, data | s.fixes.get(ev.id, {}))
                if got is None:
                    continue
                held = next((d for d in s.views.get(a.id, []) if d.event.id == ev.id), None)
                if held and (held.personal or not got[0]) and got[1] <= held.bases:
                    continue
                self._deliver(s, a, ev, got, pos, held)

    def _rectify(self, s: Subject, ev: Ev) -> None:
        """Correct or retract a target wherever it is held (or refuse)."""
        target = next((t for _, t, _ in s.record if t.id == ev.data["target_event_id"]), None)
        producer = self.agencies[ev.producer]
        reason = None
        if target is None or target.type not in RECTIFIABLE or target.id in s.retracted:
            reason = "unknown_target"
        elif not (
            producer.id == target.producer
            or (
                producer.type == "coordinator"
                and producer.jurisdiction == self.agencies[target.producer].jurisdiction
            )
        ):
            reason = "not_entitled_to_rectify"
        elif (
            bool(ev.data.get("retract")) == bool(ev.data["fields"])
            or not set(ev.data["fields"]) <= RECTIFIABLE[target.type]
        ):
            reason = "rectification_mismatch"
        if reason is not None or target is None:
            self.refused.setdefault((ev.producer, ev.subject), set()).add(ev.id)
            return
        if not ev.data.get("retract"):
            s.fixes.setdefault(target.id, {}).update(ev.data["fields"])
            return
        s.retracted.add(target.id)
        for views in (s.views, s.retained):
            for agency, held in views.items():
                views[agency] = [d for d in held if d.event.id != target.id]
        if FAMILY[target.type] == "identification":
            for agency in list(s.holders):
                if not any(
                    FAMILY[d.event.type] == "identification" for d in s.views.get(agency, [])
                ):
                    s.holders.pop(agency)

    def _withdraw(self, s: Subject, scope: Any) -> None:
        seen = {a for a, v in s.views.items() if v}
        if scope == "all":
            in_scope = seen
            s.grants.clear()
            s.record_from = self.pos
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
            s.views[agency] = [replace(d) for d in s.retained.get(agency, [])]
            s.holders.pop(agency, None)
            if any(d.event.type == "haven.victim.identified.v1" for d in s.views[agency]):
                s.holders[agency] = "lawful"

    def summary(self, agency: str, subject: str) -> dict[str, Any]:
        """What the agency's read models say about the subject, in comparable form."""
        s = self.subjects.get(subject, Subject())
        views = s.views.get(agency, [])
        kinds = [d.event.type for d in views]
        register, level = False, None
        for d in views:
            if d.event.type == "haven.risk.assessed.v1":
                level = (d.event.data | s.fixes.get(d.event.id, {}))["level"]
                register = level in ("high", "critical")
        return {
            "timeline": sorted(d.event.id for d in views),
            "subjects": any(FAMILY[k] in ("identification", "risk", "placement") for k in kinds),
            "personal": any(d.personal for d in views if FAMILY[d.event.type] == "identification"),
            "risk_register": register,
            "risk_level": level if any(FAMILY[k] != "order" for k in kinds) else None,
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
