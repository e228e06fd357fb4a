"""Access, portability and consent records of one subject (GDPR Art. 15, 20, 7(1)).

Who may ask: the subject's identifying agency, or a coordinator or legal
aid agency that currently receives the subject's identification (acting for
the survivor).  Everyone else gets 403, whether the subject exists or not.

Two paths, on purpose:
- the *export* reads only the caller's own read models, under the caller's
  database role (``as_agency``), like every other read of the API;
- the *disclosure* and the *consent records* need facts about other
  agencies.  They are read on the API's privileged ``core`` connection by
  the fixed queries of this module, which select metadata columns only
  (agency ids, event types, field names, bases, counts, times) from
  ``haven_core`` bookkeeping tables and never touch another agency's schema
  or any sealed or data column (docs/survivor-rights.md "Access").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, text

from projectors.consent.ledger import AgencyProfile
from projectors.consent.subject_state import SubjectState
from projectors.readmodels.registry import default_registry
from services.api.auth import Caller

ACTING_TYPES = frozenset({"coordinator", "legal_aid"})
EXPORT_FORMAT = "haven-export-v1"
BASES_NOT_LAWFUL = frozenset({"producer", "consent"})


def acting_state(core: Engine, caller: Caller, subject_id: str) -> SubjectState | None:
    """The subject's engine state when ``caller`` may act for the survivor, else None."""
    with core.connect() as conn:
        doc = conn.execute(
            text("SELECT state FROM haven_core.subject_states WHERE subject_id = :s"),
            {"s": subject_id},
        ).scalar()
    if doc is None:
        return None
    state = SubjectState.from_json(doc)
    if state.identifying_agency == caller.agency_id:
        return state
    entitled = caller.agency_type in ACTING_TYPES and caller.agency_id in state.holders
    return state if entitled else None


def _rows(conn: Connection, sql: str, subject_id: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(text(sql), {"s": subject_id})]


def disclosure(
    core: Engine, caller: Caller, subject_id: str, state: SubjectState
) -> dict[str, Any]:
    """Who holds what about the subject, why, since when, who read it, what was erased."""
    with core.connect() as conn:
        held = _rows(
            conn,
            "SELECT h.agency_id, a.agency_type, a.jurisdiction, h.event_type, h.fields,"
            " h.bases, h.held_since FROM haven_core.holdings h LEFT JOIN haven_core.agencies a"
            " ON a.id = h.agency_id WHERE h.subject_id = :s ORDER BY h.agency_id, h.log_offset",
            subject_id,
        )
        reads = _rows(
            conn,
            "SELECT agency_id, endpoint, count(*) AS reads, max(read_at) AS last_read_at"
            " FROM haven_core.access_log WHERE subject_id = :s GROUP BY agency_id, endpoint"
            " ORDER BY agency_id, endpoint",
            subject_id,
        )
        erasures = _rows(
            conn,
            "SELECT withdrawal_event_id, cause, agency_id, projector, rows_erased,"
            " rows_retained, retained_bases, key_action, created_at"
            " FROM haven_core.erasure_receipts WHERE subject_id = :s"
            " ORDER BY created_at, withdrawal_event_id, agency_id, projector",
            subject_id,
        )
        rectifications = _rows(
            conn,
            "SELECT rectification_event_id, target_event_id, target_type, producer, reason,"
            " retract, field_names, agencies, rectified_at FROM haven_core.rectifications"
            " WHERE subject_id = :s ORDER BY log_offset",
            subject_id,
        )
        shared = _rows(
            conn,
            "SELECT grant_event_id, consent_id, agency_id, events_shared, granted_at"
            " FROM haven_core.grant_receipts WHERE subject_id = :s AND events_shared > 0"
            " ORDER BY granted_at, agency_id",
            subject_id,
        )
    return {
        "subject_id": subject_id,
        "requested_by": caller.agency_id,
        "generated_at": datetime.now(UTC),
        "holders": _holders(held, state),
        "reads": reads,
        "erasures": erasures,
        "rectifications": rectifications,
        "shared_by_grants": shared,
    }


def _holders(held: list[dict[str, Any]], state: SubjectState) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in held:
        grouped[row["agency_id"]].append(row)
    holders = []
    for agency_id, rows in grouped.items():
        first = rows[0]
        bases = sorted({b for r in rows for b in r["bases"]})
        fields: dict[str, set[str]] = defaultdict(set)
        events: dict[str, int] = defaultdict(int)
        for row in rows:
            fields[row["event_type"]] |= set(row["fields"])
            events[row["event_type"]] += 1
        profile = AgencyProfile(agency_id, first["agency_type"] or "", first["jurisdiction"] or "")
        holders.append(
            {
                "agency_id": agency_id,
                "agency_type": first["agency_type"],
                "jurisdiction": first["jurisdiction"],
                "since": min(r["held_since"] for r in rows),
                "bases": bases,
                "consent_ids": sorted(
                    g.consent_id for g in state.consent.grants.values() if g.covers(profile)
                ),
                "lawful_bases": [b for b in bases if b not in BASES_NOT_LAWFUL],
                "events": dict(events),
                "fields": {kind: sorted(names) for kind, names in fields.items()},
            }
        )
    return holders


def export_rows(conn: Connection, schema: str, subject_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row about the subject in the agency's read models (``conn`` renders into
    ``schema``); personal fields still sealed."""
    found: dict[str, list[dict[str, Any]]] = {}
    for projector in default_registry():
        for table in projector.subject_tables():
            exists = conn.execute(
                text("SELECT to_regclass(:t)"),
                {"t": f"{schema}.{table.name}"},
            ).scalar()
            if exists is None:
                continue
            rows = conn.execute(sa.select(table).where(table.c.subject_id == subject_id))
            found[table.name] = [dict(r._mapping) for r in rows]
    return found


def export_document(subject_id: str, agency_id: str, rows: dict[str, Any]) -> dict[str, Any]:
    """The portable JSON document (personal fields already opened by the caller)."""
    return {
        "format": EXPORT_FORMAT,
        "subject_id": subject_id,
        "agency_id": agency_id,
        "exported_at": datetime.now(UTC),
        "read_models": rows,
    }
