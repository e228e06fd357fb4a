"""The end of the demo: drain the pipeline, show the log and the DLQ, audit, sum up."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.table import Table
from sqlalchemy import Connection, Engine, text

from events.topics import dlq_topic, log_topic
from projectors.audit.archive import read_log
from projectors.directory.agencies import schema_name
from services.audit.replay import live_positions
from services.demo import cast, records
from services.demo.audit import AuditResult, audit_table, run_audit
from services.demo.events import bad_inputs
from services.demo.pipeline import PREFIX
from services.demo.records import Log
from services.demo.report import checks_table

if TYPE_CHECKING:
    from services.demo.run import DemoRun

#: The survivor's sealed fields shredded by the erasure: the identification's and
#: the correction's ``personal``, the risk ``notes`` and the shelter ``location``.
ERASED_FIELDS = 4
#: Sealed under other keys: the order's respondent and the later assessment's notes.
READABLE_FIELDS = 2


def finish(run: DemoRun) -> None:
    """Dead-letter bad input, wait for everything, then log, DLQ, audit and checks."""
    run.console.rule("[bold]The log, the dead-letter queue and the audit")
    log, dlq = _drain(run)
    personal = cast.PERSONAL_VALUES
    run.console.print(records.log_table(log, run.subject, personal))
    title = "her sealed fields opened with the keyring now (in production only the API opens them)"
    run.console.print(records.opened_table(log, run.subject, run.keys, title))
    run.console.print(records.dlq_table(dlq, personal))
    run.console.print(_holdings(run.engine))
    result = run_audit(run.engine, run.endpoints.database_url, log_topic(PREFIX), log)
    run.console.print(audit_table(result))
    _judge(run, log, dlq, result)
    run.console.print(checks_table(run.report))


def _drain(run: DemoRun) -> tuple[Log, list[bytes]]:
    """Send the bad input, wait until everything is sealed, projected and relayed, stop."""
    pipeline = run.pipeline
    for agency, raw, _reason in bad_inputs():
        pipeline.send_raw(agency, raw, None)
    pipeline.flush()
    pipeline.wait_applied(run.sent, "sealing and projecting the background traffic")
    pipeline.wait_relayed()
    # At least what the engine applied: a loaded broker can be quiet for longer than
    # ``read_log``'s idle wait, and a log read short would go unnoticed below.
    topic = log_topic(PREFIX)
    log = read_log(pipeline.bootstrap, topic, at_least=live_positions(pipeline.engine, topic))
    ends = {partition: rs[-1].offset + 1 for partition, rs in log.items() if rs}
    pipeline.wait_projected(topic, ends)
    pipeline.stop()
    dlq = read_log(pipeline.bootstrap, dlq_topic(PREFIX))
    return log, [record.value for rs in dlq.values() for record in rs]


def _judge(run: DemoRun, log: Log, dlq: list[bytes], result: AuditResult) -> None:
    """The end-of-run checks and facts, into the report."""
    erased, readable = records.erased_fields(log, run.subject, run.keys)
    every = [record.value for rs in log.values() for record in rs] + dlq
    reasons = sorted(json.loads(raw)["reason"] for raw in dlq)
    run.report.verdicts |= {
        "haven audit verify holds": result.verified.ok,
        "haven audit replay holds": result.replayed.ok,
        "no plaintext personal value in the log or the DLQ": not any(
            records.leaks(raw, cast.PERSONAL_VALUES) for raw in every
        ),
        "bad input dead-lettered with its reason": reasons
        == sorted(reason for _a, _r, reason in bad_inputs()),
        "her fields sealed before the erasure read ERASED": erased == ERASED_FIELDS,
        "fields under other keys stay readable": readable == READABLE_FIELDS,
    }
    run.report.facts |= {
        "sealed_fields": {"erased": erased, "readable": readable},
        "dlq_reasons": reasons,
        "log_records": sum(len(rs) for rs in log.values()),
        "replay": result.replayed.to_json(),
    }


def _holdings(engine: Engine) -> Table:
    """How many people each agency holds now, background included."""
    table = Table("agency", "subjects", "risk register", "placements", "orders", "refused")
    table.title, table.title_justify = "read models now (story + background)", "left"
    with engine.connect() as conn:
        for agency in cast.AGENCIES:
            schema = schema_name(agency.id)
            counts = [
                _count(conn, f'"{schema}"."{name}"')
                for name in ("subjects", "risk_register", "placements", "protective_orders")
            ]
            refused = conn.execute(
                text("SELECT count(*) FROM haven_core.refusals WHERE producer = :a"),
                {"a": agency.id},
            ).scalar()
            table.add_row(agency.id, *(str(c) for c in counts), str(refused))
    return table


def _count(conn: Connection, table: str) -> int:
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        return 0
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)  # noqa: S608
