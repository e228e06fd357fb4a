"""A test rig for the engine on a real Postgres, without a broker.

``EngineRig`` registers agencies, validates and seals events exactly as the
sealer does, appends them to an in-memory partition of the log and applies
it through the real :class:`EngineCore`.  Integration and property tests use
it; end-to-end tests go through the broker instead.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from events.codec import encode, parse_dict
from events.envelope import agency_source
from events.registry import REGISTRY
from events.sealing import open_stored
from events.types import AgencyRegistered
from projectors.bootstrap import construct_engine_core
from projectors.directory.agencies import create_agency_rows, schema_name
from projectors.keys.keyring import Keyring
from projectors.log import LogRecord
from projectors.outbox.store import system_event
from projectors.readmodels.sdk import ProjectorRegistry
from projectors.sealer.transform import seal_event


class EngineRig:
    """Agencies, a one-partition log and the engine, on one database."""

    def __init__(
        self,
        engine: Engine,
        master_key: bytes,
        *,
        hold_s: float = 0.0,
        topic: str = "rig.log.v1",
        registry: ProjectorRegistry | None = None,
    ) -> None:
        self.engine = engine
        self.topic = topic
        self.keyring = Keyring(engine, master_key, cache_ttl_s=0.0)
        self.core = construct_engine_core(engine, self.keyring, hold_s=hold_s, registry=registry)
        self.log: list[bytes] = []
        self.position: int | None = None

    def register(self, agency_id: str, agency_type: str, jurisdiction: str, name: str = "") -> None:
        """Register an agency and append its registration to the log."""
        with self.engine.begin() as conn:
            create_agency_rows(conn, agency_id, agency_type, jurisdiction, name or agency_id)
        fields = {"agency_id": agency_id, "agency_type": agency_type}
        fields |= {"jurisdiction": jurisdiction, "name": name or agency_id}
        data = REGISTRY.model(AgencyRegistered.event_type).model_validate_json(json.dumps(fields))
        self.log.append(encode(system_event(data)))

    def publish(
        self,
        agency_id: str,
        event_type: str,
        data: dict[str, Any],
        *,
        subject: str,
        jurisdiction: str = "GR",
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> str:
        """Validate and seal an agency's event as the sealer would; returns its id."""
        identifier = event_id or str(uuid.uuid4())
        event = parse_dict(
            {
                "specversion": "1.0",
                "id": identifier,
                "source": agency_source(agency_id),
                "type": event_type,
                "subject": subject,
                "agency": agency_id,
                "jurisdiction": jurisdiction,
                "datacontenttype": "application/json",
                "time": (time or datetime.now(UTC)).isoformat(),
                "data": data,
            },
            inbox_agency=agency_id,
        )
        kids = self.keyring.current_subject_kids([subject])
        self.log.append(
            seal_event(event, kids.__getitem__, self.keyring.ensure_order_kid, self._key)
        )
        if data.get("erase_personal_data"):
            self.keyring.start_new_epoch(subject)
        return identifier

    def _key(self, kid: str) -> bytes:
        key = self.keyring.key(kid)
        assert key is not None, kid
        return key

    def system(self, event_type: str, data: dict[str, Any], *, subject: str | None = None) -> str:
        """Append a system event (as the scheduler or the outbox would)."""
        event = system_event(
            REGISTRY.model(event_type).model_validate_json(json.dumps(data)), subject=subject
        )
        self.log.append(encode(event))
        return event.id

    def run(self, batch_size: int = 500) -> None:
        """Apply every appended record through the engine."""
        start = self.position or 0
        while start < len(self.log):
            chunk = [
                LogRecord(offset, self.log[offset])
                for offset in range(start, min(start + batch_size, len(self.log)))
            ]
            result = self.core.apply_batch(self.topic, 0, self.position, chunk)
            self.position = start = result.next_offset

    def rows(self, agency_id: str, table: str) -> list[dict[str, Any]]:
        """Every row of one read-model table of the agency."""
        query = f'SELECT * FROM "{schema_name(agency_id)}"."{table}"'  # noqa: S608 - test rig
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(query))]

    def subject_rows(
        self, agency_id: str, table: str, subject_ids: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """The rows of one read-model table of the agency about each of ``subject_ids``."""
        query = (
            f'SELECT * FROM "{schema_name(agency_id)}"."{table}"'  # noqa: S608 - test rig
            " WHERE subject_id = ANY(:subjects)"
        )
        found: dict[str, list[dict[str, Any]]] = {subject: [] for subject in subject_ids}
        with self.engine.connect() as conn:
            for row in conn.execute(text(query), {"subjects": subject_ids}):
                found[str(row.subject_id)].append(dict(row._mapping))
        return found

    def _core(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(query), params)]

    def refusals_core(self) -> list[dict[str, Any]]:
        """The audit trail of refused events."""
        return self._core("SELECT * FROM haven_core.refusals ORDER BY refused_at")

    def receipts(self, subject: str) -> list[dict[str, Any]]:
        """Erasure receipts of the subject."""
        return self._core(
            "SELECT * FROM haven_core.erasure_receipts WHERE subject_id = :s ORDER BY created_at",
            s=subject,
        )

    def notices(self) -> list[dict[str, Any]]:
        """Erasure notices waiting for (or done with) relay."""
        return self._core("SELECT * FROM haven_core.notice_outbox ORDER BY created_at")

    def opened(self, agency_id: str, table: str, column: str, key: str) -> Any:
        """Decrypt a sealed column of the row whose first primary-key column is ``key``."""
        for row in self.rows(agency_id, table):
            if key in (row.get("subject_id"), row.get("placement_id"), row.get("order_id")):
                stored = row[column]
                return None if stored is None else open_stored(stored, self.keyring.key)
        raise LookupError(f"no row {key} in {agency_id}.{table}")
