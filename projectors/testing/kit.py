"""A test kit for projectors on a real Postgres (no mocks): ``ProjectorHarness``.

It renders one projector's tables into a fresh schema and calls its handlers
with :class:`EventView` objects, the way the engine does for one agency.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, text

from events.sealing import bind_to_event, is_sealed
from events.types import (
    PlacementEnded,
    PlacementStarted,
    ProtectiveOrderIssued,
    ProtectiveOrderRevoked,
    RiskAssessed,
    VictimIdentified,
)
from projectors.consent.ledger import AgencyProfile
from projectors.readmodels.changes import Pending, RowKey, Rows
from projectors.readmodels.sdk import EventView, Projector
from projectors.readmodels.writer import flush_rows

COORDINATOR = AgencyProfile("t_coord", "coordinator", "GR")


def sealed(kid: str = "subj:00000000-0000-4000-8000-000000000000:0") -> dict[str, str]:
    """A sealed personal field as a handler sees it (bound to its event and path).

    :meth:`ProjectorHarness.apply` rebinds it to the event it builds, as the
    engine does; projectors store it as it comes and never open it.
    """
    return {"sealed": "v1", "kid": kid, "ct": "AAAA", "event_id": "e", "path": "data.x"}


SAMPLES: dict[str, dict[str, Any]] = {
    VictimIdentified.event_type: {
        "identified_at": "2026-11-01T10:00:00+00:00",
        "nationality": ["NG"],
        "exploitation_types": ["sexual"],
        "indicators": ["debt"],
        "is_minor": False,
        "languages": ["en"],
        "personal": sealed(),
    },
    RiskAssessed.event_type: {
        "assessed_at": "2026-11-01T12:00:00+00:00",
        "level": "high",
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "review_by": "2026-11-15",
        "notes": sealed(),
    },
    PlacementStarted.event_type: {
        "placement_id": "p1",
        "shelter_agency": "t_shelter",
        "started_at": "2026-11-01T13:00:00+00:00",
        "placement_type": "emergency",
        "child_friendly": False,
        "location": sealed(),
    },
    PlacementEnded.event_type: {
        "placement_id": "p1",
        "ended_at": "2026-11-03T13:00:00+00:00",
        "reason": "moved",
    },
    ProtectiveOrderIssued.event_type: {
        "order_id": "o1",
        "issued_at": "2026-11-01T14:00:00+00:00",
        "issuing_jurisdiction": "GR",
        "order_type": "no_contact",
        "valid_from": "2026-11-01T14:00:00+00:00",
        "valid_until": "2027-11-01T14:00:00+00:00",
        "recognized_in": ["IT"],
        "respondent": sealed("order:o1"),
    },
    ProtectiveOrderRevoked.event_type: {
        "order_id": "o1",
        "revoked_at": "2026-11-05T14:00:00+00:00",
        "reason": "appeal",
    },
}


def sample_data(event_type: str) -> dict[str, Any]:
    """Valid JSON-mode ``data`` of a shareable event type (a fresh copy)."""
    return copy.deepcopy(SAMPLES[event_type])


class ProjectorHarness:
    """One projector's tables in a throw-away schema, driven like the engine drives it."""

    def __init__(self, engine: Engine, projector: Projector) -> None:
        self.engine = engine
        self.projector = projector
        self.schema = f"agency_t{secrets.token_hex(6)}"
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
            projector.metadata.create_all(self._mapped(conn))

    def _mapped(self, conn: Connection) -> Connection:
        return conn.execution_options(schema_translate_map={None: self.schema})

    def apply(
        self,
        event_type: str,
        data: dict[str, Any] | None = None,
        *,
        subject_id: str,
        agency: AgencyProfile = COORDINATOR,
        producer: str = "t_ngo",
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> EventView:
        """Call the projector's handler for one event; returns the view it saw."""
        handler = self.projector.handler_for(event_type)
        if handler is None:
            raise LookupError(f"projector {self.projector.name!r} does not handle {event_type}")
        event_id = event_id or str(uuid.uuid4())
        fields = sample_data(event_type) if data is None else data
        view = EventView(
            event_id=event_id,
            event_type=event_type,
            subject_id=subject_id,
            time=time or datetime.now(UTC),
            producer=producer,
            jurisdiction=agency.jurisdiction,
            agency=agency,
            data={
                name: bind_to_event(value, event_id, f"data.{name}") if is_sealed(value) else value
                for name, value in fields.items()
            },
        )
        store: dict[RowKey, Pending] = {}
        tables: dict[str, Table] = {}
        handler(Rows(store, tables, self.schema), view)
        with self.engine.begin() as conn:
            flush_rows(conn, store, tables, [self.projector])
        return view

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of the projector's tables."""
        with self.engine.connect() as conn:
            query = text(f'SELECT * FROM "{self.schema}"."{table}"')  # noqa: S608 - own schema
            return [dict(row._mapping) for row in conn.execute(query)]

    def erase(self, subject_id: str) -> int:
        """The projector's erasure, as a withdrawal runs it."""
        with self.engine.begin() as conn:
            return self.projector.erase(self._mapped(conn), subject_id)

    def count(self, subject_id: str) -> int:
        """Rows about the subject."""
        with self.engine.connect() as conn:
            return self.projector.count(self._mapped(conn), subject_id)

    def drop(self) -> None:
        """Drop the schema and everything in it."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
