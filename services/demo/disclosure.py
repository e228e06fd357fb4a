"""The demo's disclosure report: her lawyer asks who holds what about her (Art. 15).

It calls the same functions as ``GET /v1/subjects/{id}/disclosure`` and
writes the read to the access log, as the API does.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from sqlalchemy import Engine

from projectors.directory.agencies import get_agency
from services.api.auth import Caller
from services.api.db.access_log import record_reads
from services.api.rights.access import acting_state, disclosure
from services.demo.pipeline import DemoFailed
from services.demo.records import short


def ask(engine: Engine, agency_id: str, subject: str) -> dict[str, Any]:
    """The disclosure of ``subject`` as ``agency_id`` may ask for it (DemoFailed if not)."""
    with engine.connect() as conn:
        agency = get_agency(conn, agency_id)
    caller = Caller(agency.id, agency.agency_type, agency.jurisdiction, agency.db_role)
    state = acting_state(engine, caller, subject)
    if state is None:
        raise DemoFailed(f"{agency_id} may not ask for her disclosure")
    report = disclosure(engine, caller, subject, state)
    record_reads(engine, agency_id, "disclosure", [subject])
    return report


def disclosure_table(report: dict[str, Any]) -> Table:
    """Holders, bases, fields and reads; then what corrections and erasures happened."""
    table = Table(
        "agency",
        "basis",
        "since",
        "events held",
        "fields",
        "reads",
        title=f"disclosure for {report['requested_by']} (who holds what about her)",
        title_justify="left",
    )
    reads: dict[str, int] = {}
    for line in report["reads"]:
        reads[line["agency_id"]] = reads.get(line["agency_id"], 0) + int(line["reads"])
    for holder in report["holders"]:
        producer = ["producer"] if "producer" in holder["bases"] else []
        consents = holder["consent_ids"] if "consent" in holder["bases"] else []
        basis = ", ".join(producer + consents + holder["lawful_bases"])
        held = ", ".join(f"{n} {short(kind)}" for kind, n in sorted(holder["events"].items()))
        fields = sorted({f for names in holder["fields"].values() for f in names})
        table.add_row(
            holder["agency_id"],
            basis,
            holder["since"].strftime("%Y-%m-%d %H:%M"),
            held,
            ", ".join(fields),
            str(reads.get(holder["agency_id"], 0)),
        )
    fixes = [
        f"{r['producer']} corrected {', '.join(r['field_names'])} ({r['reason']})"
        for r in report["rectifications"]
    ]
    erased = sum(e["rows_erased"] for e in report["erasures"])
    table.caption = (
        f"{'; '.join(fixes) or 'no corrections'}; {erased} rows erased so far;"
        f" {sum(s['events_shared'] for s in report['shared_by_grants'])} events shared by grants"
    )
    return table
