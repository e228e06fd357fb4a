"""The engine core on a real Postgres: exactly-once effect, fencing, erasure by key."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text

from events.sealing import ERASED, open_value
from projectors.log import LogRecord, PositionMoved
from projectors.scheduler import destroy_due_keys
from projectors.testing.engine_rig import EngineRig

IDENTIFIED = "haven.victim.identified.v1"
GRANTED = "haven.consent.granted.v1"
WITHDRAWN = "haven.consent.withdrawn.v1"


def identification(minor: bool = False) -> dict[str, Any]:
    return {
        "identified_at": "2026-11-01T10:00:00Z",
        "nationality": ["NG"],
        "exploitation_types": ["sexual"],
        "indicators": ["debt"],
        "is_minor": minor,
        "languages": ["en"],
        "personal": {"full_name": "Test Person"},
    }


def grant(consent_id: str = "c1", **recipients: list[str]) -> dict[str, Any]:
    return {
        "consent_id": consent_id,
        "granted_at": "2026-11-01T11:00:00Z",
        "recipients": recipients or {"agency_types": ["coordinator"]},
        "purposes": ["care", "protection"],
    }


def withdrawal(erase: bool = False) -> dict[str, Any]:
    return {"withdrawn_at": "2026-11-02T10:00:00Z", "scope": "all", "erase_personal_data": erase}


def snapshot(rig: EngineRig, agencies: list[str]) -> dict[tuple[str, str], list[str]]:
    tables = ["subjects", "risk_register", "placements", "protective_orders", "timeline"]
    return {
        (agency, table): sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
        for agency in agencies
        for table in tables
        for rows in [rig.rows(agency, table)]
    }


@pytest.fixture
def rig(engine: Engine, master_key: bytes) -> EngineRig:
    rig = EngineRig(engine, master_key)
    rig.register("ngo_gr", "ngo", "GR")
    rig.register("coord_gr", "coordinator", "GR")
    rig.register("cp_gr", "child_protection", "GR")
    rig.run()
    return rig


def test_redelivering_the_whole_log_changes_nothing(rig: EngineRig) -> None:
    subject = str(uuid.uuid4())
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    rig.publish("ngo_gr", GRANTED, grant(), subject=subject)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    rig.run()
    before = snapshot(rig, ["ngo_gr", "coord_gr", "cp_gr"])
    assert before[("coord_gr", "subjects")], "the coordinator was granted access"
    rig.log.extend(list(rig.log))  # every record again, at new offsets
    rig.run()
    assert snapshot(rig, ["ngo_gr", "coord_gr", "cp_gr"]) == before


def test_two_workers_racing_on_one_partition_never_both_advance(rig: EngineRig) -> None:
    subject = str(uuid.uuid4())
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    start = rig.position
    records = [LogRecord(o, rig.log[o]) for o in range(start or 0, len(rig.log))]
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            rig.core.apply_batch(rig.topic, 0, start, records)
            outcomes.append("advanced")
        except PositionMoved:
            outcomes.append("fenced")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["advanced", "fenced", "fenced", "fenced"]
    assert len(rig.rows("ngo_gr", "timeline")) == 1


def _log_personal(rig: EngineRig, offset: int) -> Any:
    document = json.loads(rig.log[offset])
    return open_value(
        document["data"]["personal"], document["id"], "data.personal", rig.keyring.key
    )


def test_erasing_withdrawal_with_hold_zero_shreds_earlier_fields_only(rig: EngineRig) -> None:
    subject = str(uuid.uuid4())
    first = len(rig.log)
    rig.publish("ngo_gr", IDENTIFIED, identification(minor=True), subject=subject)
    rig.run()
    assert rig.opened("cp_gr", "subjects", "personal", subject) == {"full_name": "Test Person"}
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=subject)
    later = len(rig.log)
    rig.publish("ngo_gr", IDENTIFIED, identification(minor=True), subject=subject)
    rig.run()
    assert _log_personal(rig, first) == ERASED
    assert _log_personal(rig, later) == {"full_name": "Test Person"}
    # The child-protection row is rule 3: it stays, rebuilt and then refreshed by the later event.
    assert rig.opened("cp_gr", "subjects", "personal", subject) == {"full_name": "Test Person"}
    summary = [r for r in rig.receipts(subject) if r["agency_id"] == "*"]
    assert summary[0]["key_action"] == "destroyed"
    assert summary[0]["key_ids"] == [f"subj:{subject}:0"]


def test_a_new_grant_within_the_hold_cancels_key_destruction(
    engine: Engine, master_key: bytes
) -> None:
    rig = EngineRig(engine, master_key, hold_s=3600)
    rig.register("ngo_gr", "ngo", "GR")
    subject = str(uuid.uuid4())
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=subject)
    rig.run()
    summary = [r for r in rig.receipts(subject) if r["agency_id"] == "*"]
    assert summary[0]["key_action"] == "scheduled"
    rig.publish("ngo_gr", GRANTED, grant(agencies=["ngo_gr"]), subject=subject)
    rig.run()
    summary = [r for r in rig.receipts(subject) if r["agency_id"] == "*"]
    assert summary[0]["key_action"] == "cancelled"
    assert destroy_due_keys(engine) == 0
    assert _log_personal(rig, len(rig.log) - 3) == {"full_name": "Test Person"}


def test_when_the_hold_ends_the_scheduler_destroys_and_emits_executed(
    engine: Engine, master_key: bytes
) -> None:
    rig = EngineRig(engine, master_key, hold_s=0.3)
    rig.register("coord_gr", "coordinator", "GR")
    subject = str(uuid.uuid4())
    first = len(rig.log)
    rig.publish("coord_gr", IDENTIFIED, identification(), subject=subject)
    rig.publish("coord_gr", WITHDRAWN, withdrawal(erase=True), subject=subject)
    rig.run()
    assert _log_personal(rig, first) == {"full_name": "Test Person"}
    time.sleep(0.4)
    assert destroy_due_keys(engine, rig.keyring) == 1
    assert _log_personal(rig, first) == ERASED
    with engine.connect() as conn:
        payloads = conn.execute(text("SELECT payload FROM haven_core.system_outbox")).scalars()
        executed = [bytes(p) for p in payloads if b"erasure.executed" in bytes(p)]
    assert len(executed) == 1
    rig.log.append(executed[0])
    rig.run()
    summary = [r for r in rig.receipts(subject) if r["agency_id"] == "*"]
    assert summary[0]["key_action"] == "destroyed"


def test_every_registered_projector_erases_a_withdrawn_subject(rig: EngineRig) -> None:
    subject = str(uuid.uuid4())
    rig.register("court_gr", "court", "GR")
    rig.register("shelter_gr", "shelter", "GR")
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    rig.publish("ngo_gr", GRANTED, grant(agency_types=["coordinator", "shelter"]), subject=subject)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)  # now shared
    rig.publish(
        "ngo_gr",
        "haven.risk.assessed.v1",
        {
            "assessed_at": "2026-11-01T12:00:00Z",
            "level": "high",
            "factors": ["retaliation"],
            "immediate_needs": ["emergency_shelter"],
            "notes": "private",
        },
        subject=subject,
    )
    rig.publish(
        "shelter_gr",
        "haven.shelter.placement-started.v1",
        {
            "placement_id": "p1",
            "shelter_agency": "shelter_gr",
            "started_at": "2026-11-01T13:00:00Z",
            "placement_type": "emergency",
            "child_friendly": False,
            "location": "Street 1",
        },
        subject=subject,
    )
    rig.publish(
        "shelter_gr",
        "haven.shelter.placement-ended.v1",
        {
            "placement_id": "p1",
            "ended_at": "2026-11-03T13:00:00Z",
            "reason": "moved",
        },
        subject=subject,
    )
    order = {
        "order_id": "o1",
        "issued_at": "2026-11-01T14:00:00Z",
        "issuing_jurisdiction": "GR",
        "order_type": "no_contact",
        "valid_from": "2026-11-01T14:00:00Z",
        "valid_until": "2027-11-01T14:00:00Z",
        "recognized_in": ["MT"],
        "respondent": {"name": "R"},
    }
    rig.publish("court_gr", "haven.protective-order.issued.v1", order, subject=subject)
    rig.publish(
        "court_gr",
        "haven.protective-order.revoked.v1",
        {
            "order_id": "o1",
            "revoked_at": "2026-11-05T14:00:00Z",
            "reason": "appeal",
        },
        subject=subject,
    )
    rig.run()
    agencies = ["ngo_gr", "coord_gr", "cp_gr", "court_gr", "shelter_gr"]
    consent_based = [p for p in rig.core.registry if p.consent_based]
    with rig.engine.connect() as conn:

        def rows_about() -> int:
            total = 0
            for agency in agencies:
                scoped = conn.execution_options(schema_translate_map={None: f"agency_{agency}"})
                total += sum(p.count(scoped, subject) for p in consent_based)
            return total

        assert rows_about() > 10
        rig.publish("ngo_gr", WITHDRAWN, withdrawal(), subject=subject)
        rig.run()
        conn.rollback()
        assert rows_about() == 0
    notices = {n["agency_id"] for n in rig.notices() if n["subject_id"] == subject}
    assert notices == {"ngo_gr", "coord_gr", "court_gr", "shelter_gr"}
