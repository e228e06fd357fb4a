"""``haven audit verify`` and ``haven audit replay``, run on the demo's data.

The same functions the CLI calls (``services.cli.audit``): recompute every
hash chain against the archive and the broker's log, then rebuild every read
model from the log in a scratch database and compare.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from sqlalchemy import Engine

from projectors.policy.loader import default_policy_path, load_policy
from services.audit.replay import ReplayReport, run_replay, scratch_database
from services.audit.verify import VerifyReport, verify
from services.demo.records import Log


@dataclass(frozen=True)
class AuditResult:
    """Both reports."""

    verified: VerifyReport
    replayed: ReplayReport

    @property
    def ok(self) -> bool:
        """Both hold."""
        return self.verified.ok and self.replayed.ok


def run_audit(engine: Engine, database_url: str, topic: str, log: Log) -> AuditResult:
    """Verify the chains against ``log``, then replay ``log`` into a scratch database."""
    verified = verify(engine, log={(topic, p): records for p, records in log.items()})
    with scratch_database(database_url) as (_name, scratch):
        replayed = run_replay(
            engine, scratch, topic, log, source="log", policy=load_policy(default_policy_path())
        )
    return AuditResult(verified, replayed)


def _verdict(ok: bool) -> str:
    return "[bold green]holds[/bold green]" if ok else "[bold red]FAILS[/bold red]"


def audit_table(result: AuditResult) -> Table:
    """One row per command, with what it checked."""
    verified, replayed = result.verified, result.replayed
    findings = [f for p in verified.partitions for f in p.findings]
    differences = ", ".join(f"{d.schema}.{d.table}" for d in replayed.differences)
    table = Table("command", "what it checked", "result", title="audit", title_justify="left")
    table.add_row(
        "haven audit verify",
        f"{verified.entries} ledger entries in {len(verified.partitions)} hash chains,"
        f" against the archive and the broker's log ({verified.elapsed_s} s)",
        _verdict(verified.ok) + ("; " + findings[0].kind if findings else ""),
    )
    table.add_row(
        "haven audit replay",
        f"{replayed.events} events replayed in {replayed.replay_s} s;"
        f" {len(replayed.tables)} read-model tables compared with the live ones",
        _verdict(replayed.ok) + (f"; differ: {differences}" if differences else ""),
    )
    return table
