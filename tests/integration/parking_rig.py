"""A projector that raises for chosen subjects: the poison of the parking tests."""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData

from projectors.readmodels.builtin import builtin_projectors
from projectors.readmodels.changes import Rows
from projectors.readmodels.indicators import Indicators
from projectors.readmodels.sdk import EventView, Projector, ProjectorRegistry

IDENTIFIED = "haven.victim.identified.v1"
RISK = "haven.risk.assessed.v1"


class Poison(Projector):
    """Lists the events it saw; raises for every subject in ``broken``."""

    name = "poison_probe"
    metadata = MetaData()
    handles: ClassVar = {IDENTIFIED: "on_event", RISK: "on_event"}
    table = sa.Table(
        "poison_probe",
        metadata,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False),
    )

    def __init__(self) -> None:
        self.broken: set[str] = set()

    def on_event(self, rows: Rows, event: EventView) -> None:
        rows.insert(self.table, {"event_id": event.event_id, "subject_id": event.subject_id})
        if event.subject_id in self.broken:
            raise RuntimeError("the probe is broken for this subject")


def poisoned_registry() -> tuple[ProjectorRegistry, Poison]:
    """The built-in projectors plus a :class:`Poison`."""
    poison = Poison()
    return ProjectorRegistry([*builtin_projectors(), Indicators(), poison]), poison
