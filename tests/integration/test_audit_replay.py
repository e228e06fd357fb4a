"""Replay of a CTDC scenario reproduces the live read models; erased data stays erased.

The scenario size is ``HAVEN_TEST_AUDIT_EVENTS`` (default 5,000, the issue's size; docs/audit.md).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from events.sealing import ERASED, is_sealed, open_stored, open_value
from infra.db import sync_engine
from projectors.audit.archive import archived_records
from projectors.log import LogRecord
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import compare_read_models, run_replay
from services.audit.verify import verify
from services.scenarios.audit import build_scenario
from services.scenarios.synthetic import first_cases

EVENTS = int(os.environ.get("HAVEN_TEST_AUDIT_EVENTS", "5000"))
IDENTIFIED = "haven.victim.identified.v1"


def _identification(minor: bool) -> dict[str, Any]:
    return {
        "identified_at": "2026-05-01T10:00:00Z",
        "nationality": ["UA"],
        "exploitation_types": ["sexual"],
        "indicators": ["control:threats"],
        "is_minor": minor,
        "languages": ["uk"],
        "personal": {"full_name": "Erased Person", "contact": "+30 000 0000"},
    }


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest) -> Iterator[tuple[EngineRig, dict[str, str]]]:
    """The scenario applied live, plus two subjects who withdraw everything with erasure."""
    from tests.conftest import fresh_database

    infra = request.getfixturevalue("infra")
    with fresh_database(infra) as url:
        engine = sync_engine(url)
        rig = EngineRig(engine, os.urandom(32), hold_s=0.0)
        build_scenario(rig, first_cases(500), EVENTS)
        erased = {"adult": str(uuid.uuid4()), "minor": str(uuid.uuid4())}
        for kind, subject in erased.items():
            rig.publish("gr_ngo", IDENTIFIED, _identification(kind == "minor"), subject=subject)
            grant = {
                "consent_id": f"c-{kind}",
                "granted_at": "2026-05-01T11:00:00Z",
                "recipients": {"agency_types": ["coordinator", "police", "shelter", "health"]},
                "purposes": ["care", "protection", "investigation"],
            }
            rig.publish("gr_ngo", "haven.consent.granted.v1", grant, subject=subject)
            rig.publish("gr_ngo", IDENTIFIED, _identification(kind == "minor"), subject=subject)
        rig.run()
        for subject in erased.values():
            assert _subject_rows(engine, subject), "shared before the withdrawal"
            withdrawal = {
                "withdrawn_at": "2026-05-02T10:00:00Z",
                "scope": "all",
                "erase_personal_data": True,
            }
            rig.publish("gr_ngo", "haven.consent.withdrawn.v1", withdrawal, subject=subject)
        rig.run()
        yield rig, erased
        engine.dispose()


def _subject_rows(engine: Engine, subject: str) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row about ``subject``, by ``schema.table``."""
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.columns"
                " WHERE column_name = 'subject_id' AND table_schema LIKE 'agency\\_%'"
            )
        ).all()
        for schema, table in tables:
            rows = conn.execute(
                text(f'SELECT * FROM "{schema}"."{table}" WHERE subject_id = :s'), {"s": subject}
            ).all()
            if rows:
                found[f"{schema}.{table}"] = [dict(r._mapping) for r in rows]
    return found


def _sealed_values(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if is_sealed(value):
            yield value
            return
        for inner in value.values():
            yield from _sealed_values(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _sealed_values(inner)
    elif isinstance(value, str) and value.startswith("{"):
        yield from _sealed_values(json.loads(value))


@pytest.mark.parametrize("source", ["log", "archive"])
def test_replay_reproduces_every_live_read_model(
    live: tuple[EngineRig, dict[str, str]], replay_database_url: str, source: str
) -> None:
    rig, erased = live
    scratch = sync_engine(replay_database_url)
    if source == "log":
        records = {0: [LogRecord(o, v) for o, v in enumerate(rig.log)]}
    else:
        records = {0: [r for _, r in archived_records(rig.engine, rig.topic, 0)]}
    report = run_replay(rig.engine, scratch, rig.topic, records, source=source)
    assert report.events == len(rig.log)
    assert report.ok, [d.to_json() for d in report.differences]
    tables = {(t.schema, t.table) for t in report.tables if t.live.rows}
    assert len(tables) > 20, "the scenario reached many agencies and tables"
    assert ("agency_ro_health", "subjects") in tables, "an agency registered mid-way received"

    rows = {kind: _subject_rows(scratch, subject) for kind, subject in erased.items()}
    assert rows["adult"] == {}, "no row of any kind is left about the adult"
    assert set(rows["minor"]) <= {"agency_gr_cp.subjects", "agency_gr_cp.timeline"}
    assert rows["minor"], "the child protection agency keeps its legal-obligation row"
    sealed = [v for table in rows["minor"].values() for r in table for v in _sealed_values(r)]
    assert sealed, "the retained row holds sealed personal fields"
    assert all(open_stored(v, rig.keyring.key) == ERASED for v in sealed)
    assert verify(rig.engine).ok, "key destruction never breaks the chain"

    with scratch.begin() as conn:  # one changed row shows as that table, and only it
        conn.execute(text("UPDATE agency_gr_coord.subjects SET nationality = '{}'"))
    differing = compare_read_models(rig.engine, scratch, ["gr_coord"])
    assert [(d.schema, d.table) for d in differing if not d.same] == [
        ("agency_gr_coord", "subjects")
    ]
    scratch.dispose()


def test_the_archived_personal_fields_of_the_erased_subject_are_unreadable(
    live: tuple[EngineRig, dict[str, str]],
) -> None:
    rig, erased = live
    opened = []
    for _, record in archived_records(rig.engine, rig.topic, 0):
        document = json.loads(record.value)
        if document.get("subject") in erased.values() and document["type"] == IDENTIFIED:
            sealed = document["data"]["personal"]
            opened.append(open_value(sealed, document["id"], "data.personal", rig.keyring.key))
    assert len(opened) == 4
    assert all(value == ERASED for value in opened)
