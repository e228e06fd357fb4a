"""Pure shaping of query results into what the pages draw (no database, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Moment:
    """One entry of a subject's timeline."""

    at: datetime
    kind: str  # ev_event, ev_refusal, ev_read, ev_receipt (message keys)
    label: str
    by: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _at(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def timeline(trail: dict[str, Any]) -> list[Moment]:
    """Events, refusals, reads and erasure receipts of a trail, oldest first."""
    moments = [
        Moment(
            _at(e["time"]),
            "ev_event",
            e["event_type"],
            e["producer"],
            [
                ("outcome", e["outcome"]),
                ("jurisdiction", e["jurisdiction"] or ""),
                ("recipients", ", ".join(e["recipients"])),
                ("partition", f"{e['topic']} / {e['partition']} @ {e['offset']}"),
            ],
        )
        for e in trail["events"]
    ]
    moments += [
        Moment(_at(r["refused_at"]), "ev_refusal", r["event_type"], r["producer"],
               [("reason", r["reason"])])
        for r in trail["refusals"]
    ]  # fmt: skip
    moments += [
        Moment(_at(r["read_at"]), "ev_read", r["endpoint"], r["agency_id"], [])
        for r in trail["reads"] or []
    ]
    moments += _receipts(trail["erasure_receipts"])
    return sorted(moments, key=lambda m: (m.at, m.kind))


def _receipts(receipts: list[dict[str, Any]]) -> list[Moment]:
    """One moment per withdrawal and agency: totals, the read models touched, the key action."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for receipt in receipts:
        grouped.setdefault((receipt["withdrawal_event_id"], receipt["agency_id"]), []).append(
            receipt
        )
    moments = []
    for (withdrawal, agency), rows in grouped.items():
        touched = [f"{r['projector']} {r['rows_erased']}" for r in rows if r["rows_erased"]]
        actions = sorted({r["key_action"] for r in rows})
        details = [
            ("rows_erased", str(sum(r["rows_erased"] for r in rows))),
            ("rows_retained", str(sum(r["rows_retained"] for r in rows))),
            ("projector", ", ".join(touched)),
            ("key_action", ", ".join(actions)),
            ("withdrawal", withdrawal),
        ]
        at = min(_at(r["created_at"]) for r in rows)
        moments.append(Moment(at, "ev_receipt", agency, agency, details))
    return moments


@dataclass(frozen=True)
class Bar:
    """One month of a jurisdiction's chart: a count, or suppressed (no number)."""

    month: date
    subjects: int | None
    cell: dict[str, Any] | None


@dataclass(frozen=True)
class Chart:
    """A jurisdiction's bars, oldest month first, and the largest count (for scale)."""

    jurisdiction: str
    bars: list[Bar]
    peak: int


def charts(cells: list[dict[str, Any]], present: list[tuple[str, date]]) -> list[Chart]:
    """One chart per jurisdiction: published cells with their count, other months suppressed.

    ``present`` lists every (jurisdiction, month) that has any subject; those
    without a published cell count fewer than the minimum and get no number.
    """
    published = {(c["jurisdiction"], c["month"]): c for c in cells}
    keys = sorted(set(published) | set(present))
    result = []
    for jurisdiction in sorted({k[0] for k in keys}):
        bars = [
            Bar(month, cell["subjects"] if cell else None, cell)
            for j, month in keys
            if j == jurisdiction
            for cell in [published.get((j, month))]
        ]
        peak = max((b.subjects or 0 for b in bars), default=0)
        result.append(Chart(jurisdiction, bars, max(peak, 1)))
    return result


def chain_rows(
    partitions: list[dict[str, Any]], report: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Per partition: ledger size and the last finished run's result and first finding."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for part in (report or {}).get("partitions", []):
        findings = part["findings"]
        found[(part["topic"], part["partition"])] = findings[0] if findings else {}
    rows = []
    for part in partitions:
        finding = found.get((part["topic"], part["partition"]))
        result = "never" if finding is None else ("broken" if finding else "holds")
        rows.append(part | {"result": result, "finding": finding or None})
    return rows
