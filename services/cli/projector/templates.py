"""The files ``haven projector new`` writes (``string.Template``: ``$name``, ``$cls``...)."""

from __future__ import annotations

from string import Template

PROJECTOR = Template('''"""``$name``: <one line on what this read model answers>.

Rows are keyed by ``subject_id``, so a consent withdrawal erases them with no
extra code (see docs/adding-a-projector.md).  Personal fields arrive sealed
and are stored sealed; never decrypt here.
"""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import TIMESTAMP

from events.types import RiskAssessed
from projectors.readmodels import EventView, Projector, Rows


class $cls(Projector):
    """<What one row means.>"""

    name = "$name"
    metadata = MetaData()
    table = sa.Table(
        "$name",
        metadata,
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("level", sa.Text),
        sa.Column("assessed_at", TIMESTAMP(timezone=True)),
    )
    handles: ClassVar[dict[str, str]] = {RiskAssessed.event_type: "on_risk_assessed"}

    def on_risk_assessed(self, rows: Rows, event: EventView) -> None:
        """Keep the latest risk level the agency may see."""
        # Handlers declare row changes; the engine writes a whole batch at once.
        # Example (replace the raise with it, or with your own):
        #   values = {"level": event.get("level"), "assessed_at": event.timestamp("assessed_at")}
        #   rows.upsert(self.table, {"subject_id": event.subject_id}, values)
        raise NotImplementedError("fill in $cls.on_risk_assessed")
''')

TEST = Template('''"""$cls on a real Postgres: it projects and it erases (haven projector new)."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from events.types import RiskAssessed
from $module import $cls
from projectors.testing import ProjectorHarness, sample_data


def test_${name}_projects_a_risk_assessment_and_erases_it(engine: Engine) -> None:
    $cls.check_erasable()
    harness = ProjectorHarness(engine, $cls())
    subject = str(uuid.uuid4())
    data = sample_data(RiskAssessed.event_type) | {"level": "critical"}
    harness.apply(RiskAssessed.event_type, data, subject_id=subject)
    rows = harness.rows("$name")
    assert [row["subject_id"] for row in rows] == [subject]
    assert "critical" in rows[0].values()
    assert harness.erase(subject) == 1
    assert harness.count(subject) == 0
    harness.drop()
''')
