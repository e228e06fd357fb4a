"""``haven audit verify | replay | trail --subject S`` (docs/audit.md)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import AliasChoices, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.topics import log_topic
from infra.migrate import migrated_engine
from infra.settings import CommonSettings
from projectors.audit.archive import read_log
from projectors.policy.loader import default_policy_path, load_policy
from services.audit.replay import (
    FromArchive,
    ReplayReport,
    live_positions,
    run_replay,
    scratch_database,
)
from services.audit.trail import subject_trail
from services.audit.verify import VerifyReport, verify
from services.cli.context import endpoints_or_exit, err_console

app = typer.Typer(help="Verify the audit ledger, replay the log, a subject's trail.")


class AuditSettings(CommonSettings):
    """``haven audit``: the shared settings plus the worker's configured policy."""

    policy_file: Path | None = Field(
        None, validation_alias=AliasChoices("HAVEN_POLICY_FILE", "policy_file")
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command("verify")
def verify_command(
    check_log: Annotated[
        bool, typer.Option("--log/--no-log", help="compare with the broker's log")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Recompute every hash chain; exit 0 only when ledger, archive and log all agree."""
    settings = AuditSettings()
    endpoints = endpoints_or_exit(settings)
    topic = log_topic(settings.topic_prefix)
    log = None
    if check_log:
        records = read_log(endpoints.bootstrap_servers, topic)
        log = {(topic, partition): rs for partition, rs in records.items()}
    with migrated_engine(endpoints) as engine:
        report = verify(engine, log=log)
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        _print_verify(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_verify(report: VerifyReport) -> None:
    table = Table("topic", "partition", "entries", "log", "head", "first finding")
    for part in report.partitions:
        found = "; ".join(f"{f.kind} at {f.offset}: {f.detail}" for f in part.findings)
        log = "-" if part.log_records is None else str(part.log_records)
        head = (part.head_hash or "")[:16]
        table.add_row(part.topic, str(part.partition), str(part.entries), log, head, found or "ok")
    Console().print(table)
    verdict = "[green]verified[/green]" if report.ok else "[red]NOT verified[/red]"
    Console().print(f"{verdict}: {report.entries} entries in {report.elapsed_s} s")


@app.command("replay")
def replay_command(
    from_archive: Annotated[
        bool, typer.Option("--from-archive", help="read the archive, not the broker's log")
    ] = False,
    agency: Annotated[
        list[str] | None, typer.Option("--agency", help="compare only this agency (repeatable)")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep the scratch database")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            help="with --from-archive: replay processes (default: one per core)",
        ),
    ] = None,
) -> None:
    """Rebuild every read model in a scratch database and compare with the live ones."""
    settings = AuditSettings()
    endpoints = endpoints_or_exit(settings)
    topic = log_topic(settings.topic_prefix)
    policy = load_policy(settings.policy_file or default_policy_path())
    console = Console(stderr=True)
    with migrated_engine(endpoints) as live:
        records = (
            FromArchive(processes or os.cpu_count() or 1)
            if from_archive
            else read_log(endpoints.bootstrap_servers, topic)
        )
        total = sum(live_positions(live, topic).values())
        with scratch_database(endpoints.database_url, keep=keep) as (name, scratch):
            with _progress(console) as progress:
                task = progress.add_task("replaying", total=total, rate="")
                started = time.perf_counter()

                def advance(count: int) -> None:
                    done = progress.tasks[0].completed + count
                    rate = done / max(time.perf_counter() - started, 1e-6)
                    progress.update(task, advance=count, rate=f"{rate:,.0f} ev/s")

                report = run_replay(
                    live,
                    scratch,
                    topic,
                    records,
                    source="archive" if from_archive else "log",
                    policy=policy,
                    agencies=agency or (),
                    on_batch=advance,
                )
            if keep:
                err_console.print(f"scratch database kept: {name}")
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        _print_replay(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_replay(report: ReplayReport) -> None:
    console = Console()
    console.print(
        f"replayed {report.events} events from the {report.source} in {report.replay_s} s"
        f" ({report.events_per_s:,.0f} events/s); {len(report.tables)} tables compared"
    )
    if report.skipped_unprojected:
        console.print(f"{report.skipped_unprojected} log records not yet projected were left out")
    if report.live_moved:
        console.print("[yellow]the live engine advanced during the replay[/yellow]")
    if report.ok:
        console.print("[green]the replay reproduces the live read models[/green]")
        return
    table = Table("schema", "table", "live rows", "replayed rows", "checksums")
    for diff in report.differences:
        table.add_row(
            diff.schema,
            diff.table,
            str(diff.live.rows),
            str(diff.replayed.rows),
            "same" if diff.live.checksum == diff.replayed.checksum else "differ",
        )
    console.print(table)


@app.command("trail")
def trail_command(
    subject: Annotated[str, typer.Option("--subject", help="the subject id")],
) -> None:
    """What happened to a subject's data: events, recipients, reads, refusals, receipts."""
    endpoints = endpoints_or_exit(AuditSettings())
    with migrated_engine(endpoints) as engine, engine.connect() as conn:
        trail = subject_trail(conn, subject)
    typer.echo(json.dumps(trail, indent=2))
