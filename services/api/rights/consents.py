"""The consent history of a subject as ISO/IEC TS 27560-style consent records.

One record per grant (``consent_id``), built from ``haven_core.consent_records``
in log order: given (with the evidence of how), then withdrawn (by id, by
``all``, or for some agencies) or expired.  The field mapping is in
docs/survivor-rights.md "Consent records".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

SCHEMA_VERSION = "haven-ts27560-style-1"
_SELECTORS = ("agencies", "agency_types", "jurisdictions")


def consent_records(core: Engine, subject_id: str) -> list[dict[str, Any]]:
    """Every grant of the subject with its life so far (metadata only)."""
    with core.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT kind, event_id, producer, at, record FROM haven_core.consent_records"
                " WHERE subject_id = :s ORDER BY log_offset"
            ),
            {"s": subject_id},
        ).all()
    records: dict[str, dict[str, Any]] = {}
    for kind, event_id, producer, at, record in rows:
        step = {"event_id": event_id, "time": at, "actor": producer}
        if kind == "granted":
            records[record["consent_id"]] = _given(subject_id, producer, record, step)
        elif kind == "expired" and record["consent_id"] in records:
            _end(records[record["consent_id"]], "expired", step)
        elif kind == "withdrawn":
            _withdrawn(records, record, step)
    return list(records.values())


def _given(
    subject_id: str, producer: str, record: dict[str, Any], step: dict[str, Any]
) -> dict[str, Any]:
    evidence = record.get("evidence")
    notice = collection = None
    if evidence is not None:
        notice = {"version": evidence["notice_version"], "language": evidence["notice_language"]}
        collection = {
            "method": evidence["method"],
            "recorded_by_role": evidence["recorded_by_role"],
            "interpreter_used": evidence.get("interpreter_used", False),
        }
    method = None if evidence is None else evidence["method"]
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": record["consent_id"],
        "pii_principal_id": subject_id,
        "controller": producer,
        "consent_status": "given",
        "purposes": list(record["purposes"]),
        "lawful_basis": "consent (GDPR Art. 6(1)(a), 9(2)(a))",
        "recipients": {name: list(record["recipients"].get(name, [])) for name in _SELECTORS},
        "given_at": record["granted_at"],
        "expires_at": record.get("expires_at"),
        "notice": notice,
        "collection": collection,
        "events": [{"event_type": "given", **step, "method": method}],
    }


def _end(record: dict[str, Any], status: str, step: dict[str, Any]) -> None:
    if record["consent_status"] == "given":
        record["consent_status"] = status
        record["events"].append({"event_type": status, **step})


def _withdrawn(
    records: dict[str, dict[str, Any]], withdrawal: dict[str, Any], step: dict[str, Any]
) -> None:
    for consent_id in withdrawal.get("ended_consent_ids", []):
        if consent_id in records:
            _end(records[consent_id], "withdrawn", step)
    scope = withdrawal.get("scope")
    if isinstance(scope, dict) and "agencies" in scope:
        for record in records.values():
            if record["consent_status"] == "given":
                event = {"event_type": "withdrawn_for_agencies", **step}
                record["events"].append(event | {"method": ",".join(scope["agencies"])})
