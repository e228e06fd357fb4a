"""Tables of what Haven keeps: the sealed log, opened fields, the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.table import Table

from events.sealing import ERASED, KeyLookup, is_sealed, open_value
from projectors.log import LogRecord

Log = Mapping[int, Sequence[LogRecord]]


def short(event_type: str) -> str:
    """``haven.risk.assessed.v1`` -> ``risk.assessed``."""
    return event_type.removeprefix("haven.").removesuffix(".v1")


def leaks(raw: bytes, personal_values: list[str]) -> bool:
    """Some plaintext personal value occurs in ``raw``."""
    return any(value.encode() in raw for value in personal_values)


def sealed_fields(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sealed value in ``data`` with its path (a correction's ``fields.personal`` too)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, value in data.items():
        if is_sealed(value):
            found.append((f"{prefix}{name}", value))
        elif isinstance(value, dict):
            found += sealed_fields(value, f"{prefix}{name}.")
    return found


def subject_records(
    log: Log, subject: str, *, once: bool = False
) -> Iterator[tuple[str, LogRecord, dict[str, Any]]]:
    """The subject's records in the log: (partition/offset, record, parsed event).

    ``once``: each ``(source, id)`` only where it first occurs, as the engine applies
    it.  The relay delivers at least once (projectors/sealer/relay.py): a record
    whose relayed mark is skipped while the engine's batch deletes its outbox row can
    be produced again, so the log may hold an event twice.
    """
    seen: set[tuple[object, object]] = set()
    for partition, records in sorted(log.items()):
        for record in records:
            event = json.loads(record.value)
            ref = (event.get("source"), event.get("id"))
            if event.get("subject") != subject or (once and ref in seen):
                continue
            seen.add(ref)
            yield f"{partition}/{record.offset}", record, event


def log_table(log: Log, subject: str, personal_values: list[str]) -> Table:
    """The survivor's events as the log holds them: sealed, no plaintext."""
    table = Table(
        "p/offset",
        "type",
        "producer",
        "sealed field",
        "key id",
        "plaintext?",
        title=f"haven.log.v1, subject {subject[:8]}…",
        title_justify="left",
    )
    for where, record, event in subject_records(log, subject):
        sealed = sealed_fields(event["data"])
        field, kid = (sealed[0][0], sealed[0][1]["kid"]) if sealed else ("-", "-")
        leaked = leaks(record.value, personal_values)
        table.add_row(
            where,
            short(event["type"]),
            event.get("agency") or "system",
            field,
            kid.replace(subject, "S"),
            "[red]YES[/red]" if leaked else "no",
        )
    return table


def opened_table(log: Log, subject: str, keys: KeyLookup, title: str) -> Table:
    """The survivor's sealed fields opened with the keyring (only the API does this),
    each event's once."""
    table = Table("p/offset", "type", "field", "opened value", title=title, title_justify="left")
    for where, _record, event in subject_records(log, subject, once=True):
        for field, value in sealed_fields(event["data"]):
            opened = open_value(value, event["id"], f"data.{field}", keys)
            shown = "[bold red]ERASED[/bold red]" if opened == ERASED else json.dumps(opened)
            table.add_row(where, short(event["type"]), field, shown)
    return table


def erased_fields(log: Log, subject: str, keys: KeyLookup) -> tuple[int, int]:
    """(erased, readable) counts of the survivor's sealed fields in the log, each event's
    once however often the log holds it."""
    erased = readable = 0
    for _where, _record, event in subject_records(log, subject, once=True):
        for field, value in sealed_fields(event["data"]):
            opened = open_value(value, event["id"], f"data.{field}", keys)
            erased, readable = erased + (opened == ERASED), readable + (opened != ERASED)
    return erased, readable


def dlq_table(records: list[bytes], personal_values: list[str]) -> Table:
    """Dead-lettered inputs: reason, origin, and proof that no personal value leaked."""
    table = Table(
        "reason",
        "from",
        "field errors",
        "original",
        "plaintext?",
        title="haven.dlq.v1 (dead-letter queue)",
        title_justify="left",
    )
    for raw in records:
        body = json.loads(raw)
        paths = ", ".join(e["path"] or "(event)" for e in body["errors"]) or "-"
        table.add_row(
            body["reason"],
            body["source_topic"],
            paths,
            f"sealed ({body['original']['kid']})",
            "[red]YES[/red]" if leaks(raw, personal_values) else "no",
        )
    return table
