"""Model-based property test: the engine on real Postgres agrees with the reference model.

Hypothesis generates random sequences of every event type over a few subjects
and agencies (refused producers, grants by id/type/jurisdiction, every
withdrawal scope, expiry, re-grants, minors, critical risk, placements,
orders, rectifications and retractions by entitled and other agencies, grants
that share the record); after the engine applies them, every agency's read
models must equal what ``engine_reference`` predicts.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.testing.engine_rig import EngineRig
from tests.conftest import fresh_database
from tests.property.engine_reference import Agency, Ev, Reference

AGENCIES = [
    Agency("p_coord_gr", "coordinator", "GR"),
    Agency("p_police_gr", "police", "GR"),
    Agency("p_police_it", "police", "IT"),
    Agency("p_shelter_gr", "shelter", "GR"),
    Agency("p_ngo_gr", "ngo", "GR"),
    Agency("p_imm_gr", "immigration", "GR"),
    Agency("p_cp_gr", "child_protection", "GR"),
    Agency("p_court_gr", "court", "GR"),
    Agency("p_legal_it", "legal_aid", "IT"),
    Agency("p_audit_gr", "auditor", "GR"),
]
PURPOSES = [
    "care",
    "protection",
    "investigation",
    "prosecution",
    "legal_assistance",
    "residence_status",
    "statistics",
]
KINDS = [
    "identify",
    "identify",
    "risk",
    "grant",
    "grant",
    "withdraw",
    "expire",
    "start",
    "end",
    "issue",
    "revoke",
    "rectify",
    "rectify",
]

agency_ix = st.integers(0, len(AGENCIES) - 1)
#: (kind, subject, producer, variation seed, from the subject's identifying agency?)
step = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 2),
    agency_ix,
    st.integers(0, 10**6),
    st.integers(0, 3).map(lambda n: n > 0),
)
COURT = next(i for i, a in enumerate(AGENCIES) if a.type == "court")


FIXES = {
    "haven.victim.identified.v1": {"personal": {"full_name": "Q"}},
    "haven.shelter.placement-started.v1": {"placement_type": "long_term"},
    "haven.shelter.placement-ended.v1": {"reason": "other"},
}


def _rectification(seed: int, events: list[tuple[str, str, str]]) -> tuple[str, Any]:
    """Correct, retract or mis-correct one of the subject's earlier events (or none)."""
    pick = seed % 7
    target = events[seed % len(events)] if events and pick != 6 else ("no-such-event", "", "")
    level = ["low", "medium", "high", "critical"][(seed // 7) % 4]
    fields = FIXES.get(target[1], {"level": level})
    if pick == 5:
        fields = {"level": level} if target[1] != "haven.risk.assessed.v1" else {"reason": "other"}
    data = {"target_event_id": target[0], "fields": fields, "reason": "wrong_fact"}
    if pick in (3, 4):
        data |= {"fields": {}, "retract": True}
    return "haven.record.rectified.v1", data


def _data(kind: str, subject: str, seed: int, ids: dict[str, list[Any]]) -> tuple[str, Any]:
    """The event type and data of one generated step (``seed`` picks the variations)."""
    pick = seed % 7
    if kind == "rectify":
        return _rectification(seed, ids["events"])
    if kind == "identify":
        return "haven.victim.identified.v1", {
            "identified_at": "2026-11-01T10:00:00Z",
            "nationality": ["NG"],
            "exploitation_types": ["sexual"],
            "indicators": ["x"],
            "is_minor": pick < 2,
            "languages": ["en"],
            "personal": {"full_name": "P"},
        }
    if kind == "risk":
        return "haven.risk.assessed.v1", {
            "assessed_at": "2026-11-01T12:00:00Z",
            "level": ["low", "medium", "high", "critical"][pick % 4],
            "factors": ["other"],
            "immediate_needs": [],
            "notes": "n",
        }
    if kind == "grant":
        cid = f"c{len(ids['grants'])}-{subject[:4]}"
        ids["grants"].append(cid)
        selectors = [
            {"agencies": [AGENCIES[seed % len(AGENCIES)].id]},
            {"agency_types": [AGENCIES[seed % len(AGENCIES)].type]},
            {"jurisdictions": [["GR", "IT"][seed % 2]]},
            {"agency_types": ["police", "coordinator"], "jurisdictions": ["IT"]},
        ]
        purposes = sorted({PURPOSES[seed % 7], PURPOSES[(seed // 7) % 7]})
        return "haven.consent.granted.v1", {
            "consent_id": cid,
            "granted_at": "2026-11-01T11:00:00Z",
            "recipients": selectors[pick % 4],
            "purposes": purposes,
        }
    if kind == "withdraw":
        scopes: list[Any] = [
            "all",
            {"consent_ids": ids["grants"][-1:] or ["none"]},
            {"agencies": [AGENCIES[seed % len(AGENCIES)].id]},
        ]
        return "haven.consent.withdrawn.v1", {
            "withdrawn_at": "2026-11-02T10:00:00Z",
            "scope": scopes[pick % 3],
            "erase_personal_data": pick == 6,
        }
    if kind == "start":
        pid = f"pl{len(ids['placements'])}-{subject[:6]}"
        ids["placements"].append(pid)
        shelter = ["p_shelter_gr", "p_coord_gr", "p_ngo_gr"][pick % 3]
        return "haven.shelter.placement-started.v1", {
            "placement_id": pid,
            "shelter_agency": shelter,
            "started_at": "2026-11-01T13:00:00Z",
            "placement_type": "emergency",
            "child_friendly": False,
            "location": "L",
        }
    if kind == "end":
        pid = (ids["placements"] or [f"pl-none-{subject[:6]}"])[
            seed % max(len(ids["placements"]), 1)
        ]
        return "haven.shelter.placement-ended.v1", {
            "placement_id": pid,
            "ended_at": "2026-11-03T13:00:00Z",
            "reason": "moved",
        }
    if kind == "issue":
        oid = f"o{len(ids['orders'])}-{subject[:6]}"
        ids["orders"].append(oid)
        return "haven.protective-order.issued.v1", {
            "order_id": oid,
            "issued_at": "2026-11-01T14:00:00Z",
            "issuing_jurisdiction": ["GR", "IT"][pick % 2],
            "order_type": "no_contact",
            "valid_from": "2026-11-01T14:00:00Z",
            "valid_until": "2027-11-01T14:00:00Z",
            "recognized_in": [["IT"], ["GR"], ["GR", "IT"]][pick % 3],
            "respondent": {"name": "R"},
        }
    oid = (ids["orders"] or [f"o-none-{subject[:6]}"])[seed % max(len(ids["orders"]), 1)]
    return "haven.protective-order.revoked.v1", {
        "order_id": oid,
        "revoked_at": "2026-11-05T14:00:00Z",
        "reason": "r",
    }


@pytest.fixture(scope="module")
def rig(infra: Endpoints) -> Iterator[EngineRig]:
    with fresh_database(infra) as url:
        engine = sync_engine(url)
        rig = EngineRig(engine, secrets.token_bytes(32))
        for agency in AGENCIES:
            rig.register(agency.id, agency.type, agency.jurisdiction)
        rig.run()
        yield rig
        engine.dispose()


TABLES = ("timeline", "subjects", "risk_register", "placements", "protective_orders", "refusals")


def _actual(rig: EngineRig, agency: str, subjects: list[str]) -> dict[str, dict[str, Any]]:
    """What the agency's read models hold about each subject, and the events it refused."""
    tables = {table: rig.subject_rows(agency, table, subjects) for table in TABLES}
    found = {}
    for subject in subjects:
        rows = {table: by_subject[subject] for table, by_subject in tables.items()}
        people, placements, orders = rows["subjects"], rows["placements"], rows["protective_orders"]
        found[subject] = {
            "timeline": sorted(r["event_id"] for r in rows["timeline"]),
            "subjects": bool(people),
            "personal": bool(people and people[0]["personal"] is not None),
            "risk_register": bool(rows["risk_register"]),
            "risk_level": people[0]["risk_level"] if people else None,
            "placements": sorted(r["placement_id"] for r in placements),
            "locations": sorted(r["placement_id"] for r in placements if r["location"] is not None),
            "orders": sorted(r["order_id"] for r in orders),
            "respondents": sorted(r["order_id"] for r in orders if r["respondent"] is not None),
            "refused": {r["event_id"] for r in rows["refusals"]},
        }
    return found


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(agency_ix, min_size=3, max_size=3),
    steps=st.lists(step, min_size=3, max_size=30),
)
def test_engine_read_models_equal_the_reference(
    rig: EngineRig, first: list[int], steps: list[tuple[str, int, int, int, bool]]
) -> None:
    subjects = [str(uuid.uuid4()) for _ in range(3)]
    reference = Reference(AGENCIES)
    ids: dict[str, dict[str, list[Any]]] = {
        s: {"grants": [], "placements": [], "orders": [], "events": []} for s in subjects
    }
    trace = []
    opening = [("identify", n, agency, 0, False) for n, agency in enumerate(first)]
    for kind, subject_ix, producer_ix, seed, home in opening + steps:
        subject, producer = subjects[subject_ix], AGENCIES[producer_ix]
        identifying = reference.subjects.get(subject)
        if home and kind in ("issue", "revoke"):
            producer = AGENCIES[COURT]
        elif home and identifying is not None and identifying.identifying is not None:
            producer = reference.agencies[identifying.identifying]
        if kind == "expire":
            grants = ids[subject]["grants"]
            if not grants:
                continue
            data = {"consent_id": grants[seed % len(grants)], "expired_at": "2026-11-04T00:00:00Z"}
            event_id = rig.system("haven.consent.expired.v1", data, subject=subject)
            reference.apply(Ev(event_id, "haven.consent.expired.v1", subject, "system", data))
            trace.append(f"expire s{subject_ix} {data['consent_id']}")
            continue
        event_type, data = _data(kind, subject, seed, ids[subject])
        if kind == "rectify" and home and data["target_event_id"] != "no-such-event":
            target_producer = next(
                e[2] for e in ids[subject]["events"] if e[0] == data["target_event_id"]
            )
            producer = reference.agencies[target_producer]
        event_id = rig.publish(
            producer.id, event_type, data, subject=subject, jurisdiction=producer.jurisdiction
        )
        reference.apply(Ev(event_id, event_type, subject, producer.id, data))
        ids[subject]["events"].append((event_id, event_type, producer.id))
        trace.append(f"{producer.id} {event_type.split('.')[-2]} s{subject_ix} {data}")
    rig.run()
    for agency in AGENCIES:
        actual = _actual(rig, agency.id, subjects)
        for subject in subjects:
            expected = reference.summary(agency.id, subject)
            predicted = reference.refused.get((agency.id, subject), set())
            found = actual[subject]
            refused = found.pop("refused")
            assert (found, refused) == (expected, predicted), (
                f"{agency.id} s{subjects.index(subject)}\n" + "\n".join(trace)
            )
