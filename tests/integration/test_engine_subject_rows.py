"""An erasure inside a batch deletes stored rows and drops collected ones, counting both.

A withdrawal whose subject has rows stored by an earlier batch and changes
collected (not yet written) in its own batch: a stored row updated, a
stored row deleted, new rows inserted.  Applied as one batch it must erase,
count and leave exactly what the same log applied event by event does
(where every change is written before the withdrawal).  Also with a
projector whose later changes name no subject (keyed by their own id): then
the subject's collected rows are written before the erasure; and with one
that erases its own way (every schema is then erased statement by
statement instead of in one round trip).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, MetaData, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from projectors.readmodels.builtin import builtin_projectors
from projectors.readmodels.changes import Rows
from projectors.readmodels.indicators import Indicators
from projectors.readmodels.sdk import EventView, Projector, ProjectorRegistry
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import compare_read_models, copy_directory
from tests.conftest import fresh_database
from tests.integration.test_engine_core import (
    GRANTED,
    IDENTIFIED,
    WITHDRAWN,
    grant,
    identification,
    withdrawal,
)

RISK = "haven.risk.assessed.v1"
SUBJECT, OTHER = str(uuid.UUID(int=41)), str(uuid.UUID(int=42))
RECEIPTS = (
    "SELECT agency_id, projector, rows_erased, rows_retained FROM haven_core.erasure_receipts"
    " ORDER BY agency_id, projector"
)


class Notes(Projector):
    """A row per subject keyed by its own id: a risk's change names no subject."""

    name = "notes"
    metadata = MetaData()
    table = sa.Table(
        "notes",
        metadata,
        sa.Column("note_id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("level", sa.Text),
    )
    handles: ClassVar = {IDENTIFIED: "on_identified", RISK: "on_risk"}

    def on_identified(self, rows: Rows, event: EventView) -> None:
        rows.insert(
            self.table, {"note_id": f"n-{event.subject_id}", "subject_id": event.subject_id}
        )

    def on_risk(self, rows: Rows, event: EventView) -> None:
        rows.update(self.table, {"note_id": f"n-{event.subject_id}"}, {"level": event.get("level")})


class OwnNotes(Notes):
    """``Notes`` erasing its own way: every schema's erasure then runs one by one."""

    def erase(self, conn: Connection, subject_id: str) -> int:
        return super().erase(conn, subject_id)


def _registry(kind: str) -> ProjectorRegistry | None:
    if kind == "builtin":
        return None
    notes = OwnNotes() if kind == "own" else Notes()
    return ProjectorRegistry([*builtin_projectors(), Indicators(), notes])


def _risk(level: str) -> dict[str, Any]:
    data = {"assessed_at": "2026-11-02T09:00:00Z", "level": level, "factors": ["retaliation"]}
    return data | {"immediate_needs": ["emergency_shelter"]}


def _log(rig: EngineRig, kind: str) -> int:
    """The scenario's log (sealed, not applied); how many records the first batch takes."""
    rig.register("ngo_gr", "ngo", "GR")
    rig.register("coord_gr", "coordinator", "GR")
    for subject in (SUBJECT, OTHER):
        rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
        rig.publish("ngo_gr", GRANTED, grant(), subject=subject)
        rig.publish("ngo_gr", RISK, _risk("critical"), subject=subject)
    stored = len(rig.log)  # subjects, timeline and risk_register rows of both subjects
    rig.publish("ngo_gr", RISK, _risk("high"), subject=OTHER)
    rig.publish("ngo_gr", RISK, _risk("critical"), subject=SUBJECT)  # a stored row updated
    rig.publish("ngo_gr", RISK, _risk("low"), subject=SUBJECT)  # then deleted
    if kind == "builtin":  # (an identification would name the note's subject)
        rig.publish("ngo_gr", IDENTIFIED, identification(), subject=SUBJECT)  # new timeline rows
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(erase=True), subject=SUBJECT)
    rig.publish("ngo_gr", RISK, _risk("critical"), subject=SUBJECT)  # after it: kept
    return stored


@pytest.fixture(params=["builtin", "notes", "own"])
def applied(infra: Endpoints, request: pytest.FixtureRequest) -> Iterator[dict[int, Engine]]:
    """The log applied in two databases: its second part event by event, or whole."""
    with (
        fresh_database(infra) as source_url,
        fresh_database(infra) as one,
        fresh_database(infra) as whole,
    ):
        source = sync_engine(source_url)
        log = EngineRig(source, os.urandom(32))
        stored = _log(log, request.param)
        engines = {1: sync_engine(one), 500: sync_engine(whole)}
        try:
            for size, engine in engines.items():
                copy_directory(source, engine)
                registry = _registry(request.param)
                rig = EngineRig(engine, os.urandom(32), topic=log.topic, registry=registry)
                rig.log = log.log[:stored]
                rig.run()
                rig.log = list(log.log)
                rig.run(batch_size=size)
            yield engines
        finally:
            for engine in [source, *engines.values()]:
                engine.dispose()


def test_an_erasure_counts_collected_rows_as_if_written(applied: dict[int, Engine]) -> None:
    """With ``notes``, the subject's collected rows are written first (a change names no
    subject), else they are counted and dropped."""
    counted = {}
    for size, engine in applied.items():
        with engine.connect() as conn:
            counted[size] = [tuple(row) for row in conn.execute(text(RECEIPTS))]
    erased = {(agency, name): n for agency, name, n, _ in counted[1] if n}
    notes = ("ngo_gr", "notes") in erased
    assert erased[("ngo_gr", "timeline")] == (4 if notes else 5), "2 rows stored, 2-3 collected"
    assert erased[("ngo_gr", "subjects")] == 1, "stored, then updated"
    assert ("ngo_gr", "risk_register") not in erased, "stored, then deleted before"
    assert counted[500] == counted[1], "one batch counts what event by event does"
    different = [d.table for d in compare_read_models(applied[1], applied[500]) if not d.same]
    assert not different, f"one batch leaves other rows than event by event: {different}"
