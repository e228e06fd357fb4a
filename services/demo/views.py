"""Rich tables of what the demo shows: the sealed log, the DLQ, opened fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from rich.table import Table

from events.sealing import ERASED, is_sealed, open_value

KeyLookup = Callable[[str], bytes | None]


def read_topic(bootstrap: str, topic: str, want: int, timeout_s: float = 60.0) -> list[Any]:
    """Every record of ``topic`` once at least ``want`` are there (or the timeout passed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    consumer.seek_to_beginning()
    records: list[Any] = []
    polls = int(timeout_s / 0.25)
    for _ in range(polls):
        for batch in consumer.poll(timeout_ms=250).values():
            records.extend(batch)
        if len(records) >= want:
            break
    consumer.close()
    return records


def _short(event_type: str) -> str:
    return event_type.removeprefix("haven.").removesuffix(".v1")


def log_table(records: list[Any], subject: str, personal_values: list[str]) -> Table:
    """The survivor's events as the log holds them."""
    table = Table(
        "p/offset",
        "type",
        "agency",
        "personal field",
        "key id",
        "plaintext in log?",
        title=f"haven.log.v1, subject {subject[:8]}…",
    )
    for record in records:
        event = json.loads(record.value)
        if event.get("subject") != subject:
            continue
        sealed = [(k, v) for k, v in event["data"].items() if is_sealed(v)]
        field, kid = (sealed[0][0], sealed[0][1]["kid"]) if sealed else ("-", "-")
        leaked = any(value.encode() in record.value for value in personal_values)
        table.add_row(
            f"{record.partition}/{record.offset}",
            _short(event["type"]),
            event.get("agency") or "system",
            field,
            kid,
            "[red]YES[/red]" if leaked else "no",
        )
    return table


def opened_table(records: list[Any], subject: str, keys: KeyLookup, title: str) -> Table:
    """The survivor's personal fields opened with the keyring."""
    table = Table("type", "field", "opened value", title=title)
    for record in records:
        event = json.loads(record.value)
        if event.get("subject") != subject:
            continue
        for field, value in event["data"].items():
            if is_sealed(value):
                opened = open_value(value, event["id"], f"data.{field}", keys)
                shown = "[bold red]ERASED[/bold red]" if opened == ERASED else json.dumps(opened)
                table.add_row(_short(event["type"]), field, shown)
    return table


def dlq_table(records: list[Any], personal_values: list[str]) -> Table:
    """Dead-lettered inputs: reason, where from, and proof that no personal value leaked."""
    table = Table(
        "reason", "from", "field errors", "original", "plaintext in DLQ?", title="haven.dlq.v1"
    )
    for record in records:
        body = json.loads(record.value)
        paths = ", ".join(e["path"] or "(event)" for e in body["errors"]) or "-"
        leaked = any(value.encode() in record.value for value in personal_values)
        table.add_row(
            body["reason"],
            body["source_topic"],
            paths,
            f"sealed ({body['original']['kid']})",
            "[red]YES[/red]" if leaked else "no",
        )
    return table
