"""Poison events are parked per subject on a real Postgres (the engine core, no broker)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from events.sealing import ERASED
from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.engine.retry import list_parked, retry_parked
from projectors.log import LogRecord
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import run_replay
from services.cli.main import app
from tests.integration.parking_rig import IDENTIFIED, RISK, Poison, poisoned_registry
from tests.integration.test_engine_core import (
    GRANTED,
    WITHDRAWN,
    _log_personal,
    grant,
    identification,
    withdrawal,
)

RISK_DATA = {
    "assessed_at": "2026-11-02T10:00:00Z",
    "level": "high",
    "factors": ["retaliation"],
    "immediate_needs": ["emergency_shelter"],
}


@pytest.fixture
def poisoned(engine: Engine, master_key: bytes) -> tuple[EngineRig, Poison]:
    registry, poison = poisoned_registry()
    rig = EngineRig(engine, master_key, registry=registry)
    rig.register("ngo_gr", "ngo", "GR")
    rig.register("coord_gr", "coordinator", "GR")
    rig.run()
    return rig, poison


def _outcomes(rig: EngineRig) -> dict[int, str]:
    with rig.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT log_offset, outcome FROM haven_core.audit_ledger WHERE topic = :t"),
            {"t": rig.topic},
        )
        return {row[0]: row[1] for row in rows}


def _start(rig: EngineRig, subject: str) -> None:
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    rig.publish("ngo_gr", GRANTED, grant(), subject=subject)


def _parked_risks(rig: EngineRig, poison: Poison, risks: int) -> str:
    """A started subject whose next ``risks`` risk assessments are parked."""
    bad = str(uuid.uuid4())
    _start(rig, bad)
    rig.run()
    poison.broken.add(bad)
    for _ in range(risks):
        rig.publish("ngo_gr", RISK, RISK_DATA, subject=bad)
    rig.run()
    return bad


def test_a_poison_event_parks_its_subject_alone(poisoned: tuple[EngineRig, Poison]) -> None:
    rig, poison = poisoned
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    _start(rig, bad)
    rig.run()
    poison.broken.add(bad)
    first = len(rig.log)
    rig.publish("ngo_gr", RISK, RISK_DATA, subject=bad)
    _start(rig, good)
    rig.publish("ngo_gr", RISK, RISK_DATA, subject=bad)
    rig.publish("ngo_gr", RISK, RISK_DATA, subject=good)
    rig.run()

    assert rig.position == len(rig.log), "the partition went on"
    parked = list_parked(rig.engine, rig.topic)
    assert [(p.offset, p.reason) for p in parked] == [
        (first, "parked:engine_error:RuntimeError"),
        (first + 3, "parked:subject_parked"),
    ]
    assert len(rig.rows("coord_gr", "risk_register")) == 1, "the other subject's risk applied"
    assert {r["event_id"] for r in rig.rows("ngo_gr", "refusals")} == {p.event_id for p in parked}
    assert {r["reason"] for r in rig.rows("ngo_gr", "refusals")} == {p.reason for p in parked}
    outcomes = _outcomes(rig)
    assert [outcomes[first], outcomes[first + 3]] == ["parked", "parked"]
    assert outcomes[first + 1] == "applied"


def test_a_withdrawal_applies_through_and_retry_equals_a_clean_replay(
    poisoned: tuple[EngineRig, Poison], replay_database_url: str
) -> None:
    rig, poison = poisoned
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    _start(rig, bad)
    _start(rig, good)
    rig.run()
    poison.broken.add(bad)
    rig.publish("ngo_gr", RISK, RISK_DATA, subject=bad)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=bad)
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=bad)
    rig.publish("ngo_gr", RISK, RISK_DATA, subject=good)
    rig.run()

    assert rig.rows("coord_gr", "subjects") == [
        row for row in rig.rows("coord_gr", "subjects") if row["subject_id"] == good
    ], "the erasing withdrawal of the parked subject applied at once"
    assert [p.applied_through for p in list_parked(rig.engine, rig.topic)] == [False, False, True]

    poison.broken.clear()
    counts = retry_parked(rig.core, rig.topic)
    assert counts["retried"] == 3
    assert counts["still_parked"] == 0
    assert list_parked(rig.engine, rig.topic) == []
    assert rig.rows("ngo_gr", "refusals") == []

    clean, _ = poisoned_registry()
    scratch = sync_engine(replay_database_url)
    records = {0: [LogRecord(o, v) for o, v in enumerate(rig.log)]}
    report = run_replay(rig.engine, scratch, rig.topic, records, source="log", registry=clean)
    scratch.dispose()
    assert report.ok, [d.to_json() for d in report.differences]


def test_retry_of_a_still_broken_subject_keeps_it_parked(
    poisoned: tuple[EngineRig, Poison],
) -> None:
    rig, poison = poisoned
    bad = _parked_risks(rig, poison, 2)
    counts = retry_parked(rig.core, rig.topic, bad)
    assert (counts["retried"], counts["still_parked"]) == (0, 2)
    reasons: list[Any] = [p.reason for p in list_parked(rig.engine, rig.topic, bad)]
    assert reasons == ["parked:engine_error:RuntimeError", "parked:subject_parked"]
    assert len(rig.rows("ngo_gr", "refusals")) == 2


def test_haven_engine_parked_and_retry(
    poisoned: tuple[EngineRig, Poison],
    infra: Endpoints,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig, poison = poisoned
    bad = _parked_risks(rig, poison, 1)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.bootstrap_servers)
    monkeypatch.setenv("HAVEN_TOPIC_PREFIX", rig.topic.removesuffix(".log.v1"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    listed = runner.invoke(app, ["engine", "parked", "--json"])
    assert listed.exit_code == 0, listed.output
    [parked] = json.loads(listed.output)
    assert (parked["subject_id"], parked["reason"]) == (bad, "parked:engine_error:RuntimeError")
    table = runner.invoke(app, ["engine", "parked"])
    assert "1 parked event(s) of 1 subject(s)" in table.output
    assert "Test Person" not in listed.output + table.output

    # The CLI runs the installation's projectors: without the broken probe the event applies.
    retried = runner.invoke(app, ["engine", "retry", "--subject", bad, "--json"])
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output) == {"retried": 1, "duplicates": 0, "still_parked": 0}
    assert list_parked(rig.engine, rig.topic) == []
    assert len(rig.rows("coord_gr", "risk_register")) == 1


def test_an_erasing_withdrawal_destroys_the_keys_of_parked_fields(
    poisoned: tuple[EngineRig, Poison],
) -> None:
    rig, poison = poisoned
    bad = str(uuid.uuid4())
    _start(rig, bad)
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=bad)
    rig.run()  # epoch 0 destroyed; the sealer seals what follows under epoch 1
    poison.broken.add(bad)
    parked_at = len(rig.log)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=bad)
    assert _log_personal(rig, parked_at) == {"full_name": "Test Person"}
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=bad)
    rig.run()
    assert list_parked(rig.engine, rig.topic)[0].offset == parked_at
    assert _log_personal(rig, parked_at) == ERASED, "the parked event's key epoch went too"


def test_a_logged_value_postgres_refuses_is_parked_not_blocking(
    poisoned: tuple[EngineRig, Poison],
) -> None:
    """The original poison: a NUL in ``gender`` sealed before the door refused it."""
    rig, _ = poisoned
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    _start(rig, bad)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=bad)  # after the grant
    rig.run()
    assert bad in {r["subject_id"] for r in rig.rows("coord_gr", "subjects")}
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=bad)
    document = json.loads(rig.log.pop())
    document["data"]["gender"] = "fe\x00male"
    rig.log.append(json.dumps(document).encode())
    _start(rig, good)
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=bad)
    rig.run()
    assert [(p.reason, p.applied_through) for p in list_parked(rig.engine, rig.topic)] == [
        ("parked:engine_error:DataError", False),
        ("applied_through", True),
    ]
    assert rig.position == len(rig.log)
    assert {r["subject_id"] for r in rig.rows("ngo_gr", "subjects")} == {good}, (
        "the other subject applied, the erasing withdrawal too"
    )
    assert bad not in {r["subject_id"] for r in rig.rows("coord_gr", "subjects")}


def test_a_parked_grant_leaves_the_holdings_of_the_batch_intact(
    poisoned: tuple[EngineRig, Poison],
) -> None:
    """A grant flushes the batch's holdings inside its savepoint; parking it keeps them."""
    rig, poison = poisoned
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=bad)
    rig.run()
    poison.broken.add(bad)
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=good)
    rig.publish("ngo_gr", GRANTED, grant(), subject=bad)  # shares: the probe raises
    rig.publish("ngo_gr", GRANTED, grant(), subject=good)  # shares good's identification
    rig.run()

    assert [p.event_type for p in list_parked(rig.engine, rig.topic)] == [GRANTED]
    with rig.engine.connect() as conn:
        held = conn.execute(
            text(
                "SELECT agency_id, event_type FROM haven_core.holdings WHERE subject_id = :s"
                " ORDER BY agency_id"
            ),
            {"s": good},
        ).all()
    assert [tuple(row) for row in held] == [("coord_gr", IDENTIFIED), ("ngo_gr", IDENTIFIED)]
    assert [r["subject_id"] for r in rig.rows("coord_gr", "subjects")] == [good]
