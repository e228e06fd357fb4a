"""``audit verify`` started from the console: one run at a time, in a background thread.

Each run is a row of ``haven_core.verify_runs``: progress (entries checked of
the ledger's total) while it runs, then ``holds`` or ``broken`` with the
report per partition (offsets and finding kinds only).  It verifies the
ledger, the archive and the anchors as the service account, like ``haven
audit verify --no-log``; the broker's log is compared by the CLI.  A run whose
process stopped keeps ``running`` until the next start marks it interrupted.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from services.audit.verify import verify

logger = logging.getLogger("haven.console")
#: A running run not updated for this long belongs to a process that stopped.
STALE_AFTER = timedelta(minutes=5)


def start_verify(core: Engine, agency_id: str) -> int:
    """Start a run (or return the one already running); the work goes on in a thread."""
    with core.begin() as conn:
        conn.execute(text("LOCK TABLE haven_core.verify_runs IN EXCLUSIVE MODE"))
        conn.execute(
            text(
                "UPDATE haven_core.verify_runs SET status = 'interrupted', finished_at = now()"
                " WHERE status = 'running' AND updated_at < now() - :stale"
            ),
            {"stale": STALE_AFTER},
        )
        running = conn.execute(
            text("SELECT id FROM haven_core.verify_runs WHERE status = 'running'")
        ).scalar()
        if running is not None:
            return int(running)
        total = conn.execute(text("SELECT count(*) FROM haven_core.audit_ledger")).scalar_one()
        run_id = int(
            conn.execute(
                text(
                    "INSERT INTO haven_core.verify_runs (started_by, entries_total)"
                    " VALUES (:a, :n) RETURNING id"
                ),
                {"a": agency_id, "n": total},
            ).scalar_one()
        )
    threading.Thread(target=_run, args=(core, run_id), name=f"verify-{run_id}", daemon=True).start()
    return run_id


def _run(core: Engine, run_id: int) -> None:
    def progress(entries: int) -> None:
        with core.begin() as conn:
            conn.execute(
                text(
                    "UPDATE haven_core.verify_runs SET entries_done = entries_done + :n,"
                    " updated_at = now() WHERE id = :id"
                ),
                {"n": entries, "id": run_id},
            )

    try:
        report = verify(core, on_entries=progress)
    except Exception:
        logger.exception("console verify failed", extra={"run": run_id})
        _finish(core, run_id, "failed", None)
        return
    status = "holds" if report.ok else "broken"
    _finish(core, run_id, status, report.to_json())
    logger.info(
        "console verify done",
        extra={"run": run_id, "status": status, "entries": report.entries, "s": report.elapsed_s},
    )


def _finish(core: Engine, run_id: int, status: str, report: dict[str, object] | None) -> None:
    with core.begin() as conn:
        conn.execute(
            text(
                "UPDATE haven_core.verify_runs SET status = :s, report = CAST(:r AS jsonb),"
                " finished_at = now(), updated_at = now() WHERE id = :id"
            ),
            {"s": status, "r": None if report is None else json.dumps(report), "id": run_id},
        )


def recent_runs(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first (readable under an auditor's role)."""
    rows = conn.execute(
        text(
            "SELECT id, started_by, started_at, finished_at, status, entries_done,"
            " entries_total, report FROM haven_core.verify_runs ORDER BY id DESC LIMIT :n"
        ),
        {"n": limit},
    )
    return [dict(row._mapping) for row in rows]
