"""Erasure receipts (``haven_core.erasure_receipts``) and the notices agencies receive."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition
from rich.table import Table
from sqlalchemy import Engine, text

from events.topics import notices_topic
from infra.topics import read_until_quiet, reading_consumer, topic_partitions


@dataclass(frozen=True)
class Receipt:
    """One receipt row: per agency and projector, counts and the key action."""

    agency: str
    projector: str
    erased: int
    retained: int
    bases: list[str]
    key_action: str
    key_ids: list[str]

    def to_json(self) -> dict[str, Any]:
        """The ``--report`` form (ids and counts only, like the receipt itself)."""
        return dict(vars(self))


def receipts(engine: Engine, withdrawal_id: str) -> list[Receipt]:
    """The withdrawal's receipt rows that erased or retained something, and its summary."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT agency_id, projector, rows_erased, rows_retained, retained_bases,"
                " key_action, key_ids FROM haven_core.erasure_receipts"
                " WHERE withdrawal_event_id = :w ORDER BY agency_id = '*', agency_id, projector"
            ),
            {"w": withdrawal_id},
        ).all()
    found = [Receipt(r[0], r[1], r[2], r[3], list(r[4]), r[5], list(r[6])) for r in rows]
    return [r for r in found if r.erased or r.retained or r.agency == "*"]


def _counts(rows: list[Receipt], pick: Callable[[Receipt], int]) -> str:
    return ", ".join(f"{r.projector} {pick(r)}" for r in rows if pick(r)) or "-"


def receipt_table(found: list[Receipt], subject: str, title: str) -> Table:
    """The receipt, one row per agency: rows erased and retained by read model, and why."""
    table = Table("agency", "rows erased", "rows retained", "lawful basis", title=title)
    table.title_justify = "left"
    by_agency: dict[str, list[Receipt]] = defaultdict(list)
    for receipt in found:
        by_agency[receipt.agency].append(receipt)
    summary = by_agency.pop("*", [])
    for agency, rows in by_agency.items():
        bases = sorted({basis for r in rows for basis in r.bases})
        erased = _counts(rows, lambda r: r.erased)
        retained = _counts(rows, lambda r: r.retained)
        table.add_row(agency, erased, retained, ", ".join(bases) or "-")
    if summary:
        kids = ", ".join(k.replace(subject, "S") for k in summary[0].key_ids)
        keys = f"{summary[0].key_action} {kids}".strip()
        style = "bold red" if summary[0].key_action == "destroyed" else "bold"
        table.caption = f"subject keys: [{style}]{keys}[/{style}] (S = the subject id)"
        table.caption_justify = "left"
    return table


def read_notices(
    bootstrap: str, prefix: str, agencies: list[str], withdrawal_id: str, idle_s: float = 1.0
) -> list[dict[str, Any]]:
    """The notices of one withdrawal, read back from ``haven.notices.<agency>.v1``."""
    consumer = reading_consumer(bootstrap)
    try:
        topics = topic_partitions(bootstrap, [notices_topic(prefix, a) for a in agencies])
        partitions = [TopicPartition(t, p) for t, found in topics.items() for p in found]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        found = [json.loads(r.value) for r in read_until_quiet(consumer, idle_s=idle_s)]
    finally:
        consumer.close()
    return sorted(
        (n for n in found if n.get("withdrawal_event_id") == withdrawal_id),
        key=lambda n: str(n["agency"]),
    )


def notices_table(notices: list[dict[str, Any]], prefix: str) -> Table:
    """What each agency's own systems were told to erase."""
    table = Table("topic", "notice id", "cause", "rows erased", "subject", title="erasure notices")
    table.title_justify = "left"
    for notice in notices:
        table.add_row(
            notices_topic(prefix, notice["agency"]),
            str(notice["notice_id"])[:8] + "…",
            notice["cause"],
            str(notice["rows_erased"]),
            str(notice["subject"])[:8] + "…",
        )
    return table
