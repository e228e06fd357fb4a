"""What each agency holds about the survivor, read from its own schema.

Personal fields are opened with the keyring the way the API opens them for a
response (``services.api.db.unseal``); a destroyed key reads as ``{"erased": true}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from events.sealing import ERASED, KeyLookup
from projectors.directory.agencies import schema_name
from services.api.db.unseal import unseal

#: Columns of ``subjects`` that say nothing about the person (always filled).
BOOKKEEPING = frozenset({"subject_id", "identified_in", "last_event_at", "open_protective_orders"})


@dataclass(frozen=True)
class AgencyView:
    """One agency's rows about the survivor, personal fields opened where allowed."""

    subject: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None
    placements: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    timeline: int = 0

    @property
    def sees_subject(self) -> bool:
        """The agency has a ``subjects`` row."""
        return self.subject is not None

    @property
    def subject_fields(self) -> frozenset[str]:
        """The non-empty descriptive columns of its ``subjects`` row."""
        row = self.subject or {}
        return frozenset(k for k, v in row.items() if v is not None and k not in BOOKKEEPING)

    @property
    def name(self) -> str | None:
        """The survivor's name as this agency can read it (None: not shared)."""
        personal = (self.subject or {}).get("personal")
        return _opened(personal, "full_name")

    @property
    def date_of_birth(self) -> str | None:
        """The survivor's date of birth as this agency can read it (None: not shared)."""
        personal = (self.subject or {}).get("personal")
        return _opened(personal, "date_of_birth")

    @property
    def location(self) -> str | None:
        """The shelter address as this agency can read it (None: not shared)."""
        found = [p["location"] for p in self.placements if p.get("location") is not None]
        return _opened(found[0], None) if found else None

    @property
    def respondent(self) -> str | None:
        """The order respondent's name as this agency can read it."""
        found = [o["respondent"] for o in self.orders if o.get("respondent") is not None]
        return _opened(found[0], "name") if found else None

    @property
    def notes(self) -> str | None:
        """The risk assessment's free-text notes as this agency can read them."""
        return _opened((self.risk or {}).get("notes"), None)

    def to_json(self) -> dict[str, Any]:
        """Which fields are visible (no personal values): the ``--report`` form."""
        return {
            "subject": self.sees_subject,
            "subject_fields": sorted(self.subject_fields),
            "name": _state(self.name),
            "risk_level": (self.subject or {}).get("risk_level"),
            "notes": _state(self.notes),
            "placements": len(self.placements),
            "location": _state(self.location),
            "orders": len(self.orders),
            "respondent": _state(self.respondent),
            "timeline": self.timeline,
        }


ERASED_TEXT = "ERASED"


def _opened(value: Any, key: str | None) -> str | None:
    if value is None:
        return None
    if value == ERASED:
        return ERASED_TEXT
    return str(value.get(key) if key and isinstance(value, dict) else value)


def _state(value: str | None) -> str | None:
    return None if value is None else ("erased" if value == ERASED_TEXT else "readable")


Views = dict[str, AgencyView]


def _rows(conn: Connection, schema: str, table: str, subject: str) -> list[dict[str, Any]]:
    if (
        conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{schema}"."{table}"'}).scalar()
        is None
    ):
        return []
    query = text(f'SELECT * FROM "{schema}"."{table}" WHERE subject_id = :s')  # noqa: S608
    return [dict(row._mapping) for row in conn.execute(query, {"s": subject})]


def agency_view(conn: Connection, agency_id: str, subject: str, keys: KeyLookup) -> AgencyView:
    """Everything ``agency_id`` holds about ``subject``, opened like an API response."""
    schema = schema_name(agency_id)

    def read(table: str) -> list[dict[str, Any]]:
        return [unseal(row, keys) for row in _rows(conn, schema, table, subject)]

    subjects, risks = read("subjects"), read("risk_register")
    return AgencyView(
        subject=subjects[0] if subjects else None,
        risk=risks[0] if risks else None,
        placements=read("placements"),
        orders=read("protective_orders"),
        timeline=len(_rows(conn, schema, "timeline", subject)),
    )


def snapshot(engine: Engine, agencies: list[str], subject: str, keys: KeyLookup) -> Views:
    """Every listed agency's view of ``subject``, in one read-only transaction."""
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        return {agency: agency_view(conn, agency, subject, keys) for agency in agencies}
