"""``haven publish FILE.jsonl --agency ID``: validate and send, line by line.

Each line is one structured-mode CloudEvent.  Every line gets a verdict:
sent (with partition and offset) or rejected (reason and field paths, never
the offending values).  Valid lines are sent even when others are rejected;
the exit code is 1 when any line was rejected, 2 when nothing could be sent.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import Progress

from events.errors import ContractError
from events.publisher import InboxMissingError, PendingDelivery, Publisher
from infra.settings import PublisherSettings
from services.cli.context import endpoints_or_exit, err_console, fail

logger = logging.getLogger("haven.publish")


@dataclass(frozen=True)
class LineVerdict:
    """What happened to one input line."""

    line: int
    status: str
    detail: dict[str, object]

    def as_json(self) -> str:
        """One JSON object per line, machine-readable."""
        return json.dumps({"line": self.line, "status": self.status, **self.detail})


def _rejected(line: int, error: ContractError) -> LineVerdict:
    return LineVerdict(line, "rejected", error.to_dict())


def _send_lines(
    publisher: Publisher, lines: list[bytes], progress: Progress
) -> list[LineVerdict | tuple[int, PendingDelivery]]:
    task = progress.add_task("validating and sending", total=len(lines))
    outcomes: list[LineVerdict | tuple[int, PendingDelivery]] = []
    for number, raw in enumerate(lines, start=1):
        progress.advance(task)
        if not raw.strip():
            continue
        try:
            outcomes.append((number, publisher.send_bytes(raw.strip())))
        except ContractError as error:
            outcomes.append(_rejected(number, error))
    return outcomes


def _await(outcome: LineVerdict | tuple[int, PendingDelivery]) -> LineVerdict:
    if isinstance(outcome, LineVerdict):
        return outcome
    number, pending = outcome
    try:
        delivery = pending.result()
    except KafkaError as error:
        return LineVerdict(
            number, "failed", {"reason": "broker_error", "error": type(error).__name__}
        )
    return LineVerdict(
        number,
        "sent",
        {"id": delivery.event_id, "partition": delivery.partition, "offset": delivery.offset},
    )


def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines file")],
    agency: Annotated[str, typer.Option("--agency", help="the producing agency id")],
) -> None:
    """Validate CloudEvents from a JSON Lines file and send them to the agency's inbox."""
    settings = PublisherSettings()
    err = err_console
    endpoints = endpoints_or_exit(settings)
    started = time.perf_counter()
    lines = file.read_bytes().splitlines()
    with Publisher(
        endpoints.bootstrap_servers,
        agency,
        topic_prefix=settings.topic_prefix,
        request_timeout_ms=settings.request_timeout_ms,
    ) as publisher:
        try:
            publisher.ensure_inbox()
        except InboxMissingError as exc:
            fail(exc, 2)
        with Progress(console=err, transient=True) as progress:
            outcomes = _send_lines(publisher, lines, progress)
        publisher.flush()
        verdicts = [_await(outcome) for outcome in outcomes]
    _report(verdicts, time.perf_counter() - started, err)


def _report(verdicts: list[LineVerdict], elapsed_s: float, err: Console) -> None:
    for verdict in verdicts:
        typer.echo(verdict.as_json())
    counts = {
        status: sum(v.status == status for v in verdicts)
        for status in ("sent", "rejected", "failed")
    }
    logger.info("publish done", extra={**counts, "elapsed_s": round(elapsed_s, 3)})
    err.print(
        f"sent {counts['sent']}, rejected {counts['rejected']}, failed {counts['failed']} "
        f"in {elapsed_s:.2f}s"
    )
    if counts["failed"] or counts["rejected"]:
        raise typer.Exit(1)
