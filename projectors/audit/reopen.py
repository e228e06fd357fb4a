"""Bring the broker in line with Postgres before workers start (``haven up``).

Postgres outlives the embedded broker, whose log lives in memory only.  On
start: the log and DLQ exist, every registered agency has its inbox, sealer
positions that point into an inbox created just now are forgotten (a new
topic starts at offset 0; the old positions would skip its first records),
and, with the embedded broker, the log is restored from the sealed archive
at the same offsets (:func:`projectors.audit.archive.restore_log_from_archive`)
and every sealed record the engine had not archived yet is queued again in
the sealed outbox, for the relay to produce after the restored records
(:func:`projectors.outbox.sealed.requeue_unarchived`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text

from events.topics import log_topic
from infra.topics import core_topics, ensure_topics, inbox_topic_spec
from projectors.audit.archive import RestoreReport, restore_log_from_archive
from projectors.log import SEALER_POSITIONS
from projectors.outbox.sealed import requeue_unarchived

logger = logging.getLogger("haven.reopen")


@dataclass(frozen=True)
class Reopened:
    """What :func:`reopen_log` found and did."""

    inboxes_created: list[str]
    positions_forgotten: int
    restore: RestoreReport | None
    requeued: int = 0


def reopen_log(
    engine: Engine, bootstrap_servers: str, prefix: str, partitions: int, *, restore: bool
) -> Reopened:
    """Topics for the log and every agency; stale inbox positions dropped; log restored."""
    ensure_topics(bootstrap_servers, core_topics(prefix, partitions))
    with engine.connect() as conn:
        agencies = list(conn.execute(text("SELECT id FROM haven_core.agencies")).scalars())
    created = ensure_topics(
        bootstrap_servers, [inbox_topic_spec(prefix, agency, partitions) for agency in agencies]
    )
    forgotten = _forget_positions(engine, created)
    report = (
        restore_log_from_archive(engine, bootstrap_servers, log_topic(prefix)) if restore else None
    )
    requeued = requeue_unarchived(engine, partitions) if restore else 0
    logger.info(
        "log reopened",
        extra={
            "agencies": len(agencies),
            "inboxes_created": len(created),
            "positions_forgotten": forgotten,
            "restored_records": report.records if report else 0,
            "requeued_records": requeued,
        },
    )
    return Reopened(created, forgotten, report, requeued)


def _forget_positions(engine: Engine, topics: list[str]) -> int:
    if not topics:
        return 0
    with engine.begin() as conn:
        return SEALER_POSITIONS.forget(conn, topics)
