"""``haven engine parked | retry``: the events the engine set aside (docs/engine.md).

Listing shows ids, types, producers and reasons only, never personal values.
A retry applies the parked events again in log order, after the cause (a
projector bug, a database limit) was fixed and the worker restarted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from events.topics import log_topic
from infra.migrate import migrated_engine
from infra.settings import WorkerSettings
from projectors.bootstrap import construct_engine_core
from projectors.engine.retry import ParkedEvent, list_parked, retry_parked
from projectors.policy.loader import default_policy_path, load_policy
from services.cli.context import endpoints_or_exit

app = typer.Typer(help="Events the engine parked: list them, apply them again.")
SubjectOption = Annotated[
    str | None, typer.Option("--subject", help="only this subject's parked events")
]


@app.command("parked")
def parked_command(
    subject: SubjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """List parked events in log order (exit 0 even when there are some)."""
    settings = WorkerSettings()
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        parked = list_parked(engine, log_topic(settings.topic_prefix), subject)
    if as_json:
        typer.echo(json.dumps([asdict(p) for p in parked], default=str))
        return
    _print(parked)


def _print(parked: list[ParkedEvent]) -> None:
    table = Table("partition", "offset", "subject", "type", "producer", "event id", "reason")
    for p in parked:
        reason = p.reason + (" (applied at once)" if p.applied_through else "")
        row = (str(p.partition), str(p.offset), p.subject_id, p.event_type, p.producer)
        table.add_row(*(escape(v) for v in (*row, p.event_id, reason)))
    console = Console()
    console.print(table)
    subjects = len({p.subject_id for p in parked})
    console.print(f"{len(parked)} parked event(s) of {subjects} subject(s)")


@app.command("retry")
def retry_command(
    subject: SubjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Apply parked events again in order; exit 1 when some stay parked."""
    settings = WorkerSettings()
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        core = construct_engine_core(
            engine,
            policy=load_policy(settings.policy_file or default_policy_path()),
            hold_s=settings.erasure_hold_s,
        )
        with Console(stderr=True).status("applying parked events again, in log order"):
            counts: Counter[str] = retry_parked(core, log_topic(settings.topic_prefix), subject)
    summary = {k: counts[k] for k in ("retried", "duplicates", "still_parked")}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        Console().print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()))
    raise typer.Exit(1 if counts["still_parked"] else 0)
