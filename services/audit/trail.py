"""A subject's audit trail as plain data: events, recipients, reads, refusals, receipts.

:func:`subject_trail` returns JSON-able data without any personal value: the
ledger holds ids, types, times and agency ids only, receipts hold counts and
key ids.  The CLI prints it; the HTTP API can serve it to auditor agencies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


def subject_trail(conn: Connection, subject_id: str) -> dict[str, Any]:
    """Everything the audit tables say about ``subject_id`` (JSON-able, no personal data)."""
    params = {"s": subject_id}
    events = _rows(
        conn,
        "SELECT topic, partition, log_offset AS offset, event_id, event_type, event_time AS time,"
        " producer, jurisdiction, outcome, recipients FROM haven_core.audit_ledger"
        " WHERE subject_id = :s ORDER BY topic, partition, log_offset",
        params,
    )
    refusals = _rows(
        conn,
        "SELECT event_id, producer, event_type, reason, refused_at FROM haven_core.refusals"
        " WHERE subject_id = :s ORDER BY refused_at, event_id",
        params,
    )
    receipts = _rows(
        conn,
        "SELECT withdrawal_event_id, agency_id, projector, cause, rows_erased, rows_retained,"
        " retained_bases, key_action, key_reason, key_ids, key_due_at, backup_horizon,"
        " created_at, updated_at FROM haven_core.erasure_receipts WHERE subject_id = :s"
        " ORDER BY created_at, withdrawal_event_id, agency_id, projector",
        params,
    )
    rectifications = _rows(
        conn,
        "SELECT rectification_event_id, target_event_id, target_type, producer, reason,"
        " retract, field_names, agencies, rectified_at FROM haven_core.rectifications"
        " WHERE subject_id = :s ORDER BY rectified_at, log_offset",
        params,
    )
    shared = _rows(
        conn,
        "SELECT grant_event_id, consent_id, agency_id, events_shared, granted_at"
        " FROM haven_core.grant_receipts WHERE subject_id = :s ORDER BY granted_at, agency_id",
        params,
    )
    has_access_log = conn.execute(text("SELECT to_regclass('haven_core.access_log')")).scalar()
    reads = (
        _rows(
            conn,
            "SELECT agency_id, endpoint, read_at FROM haven_core.access_log"
            " WHERE subject_id = :s ORDER BY read_at, id",
            params,
        )
        if has_access_log
        else None
    )
    recipients = sorted({agency for event in events for agency in event["recipients"]})
    return {
        "subject_id": subject_id,
        "events": events,
        "recipients": recipients,
        "refusals": refusals,
        "reads": reads,
        "erasure_receipts": receipts,
        "rectifications": rectifications,
        "shared_by_grants": shared,
    }


def _rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {name: _plain(value) for name, value in row._mapping.items()}
        for row in conn.execute(text(sql), params)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
