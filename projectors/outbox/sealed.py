"""The sealed outbox: sealed records durable in Postgres until the engine archived them.

The gateway (HTTP) and the sealer (inboxes) call :func:`stage_sealed` in the
transaction that records their ``(source, id)`` marks, so a mark always
means the record is durable: either here, or (once the engine read it) in
the log archive.  The relay (:mod:`projectors.sealer.relay`, through
:mod:`projectors.outbox.sealed_store`) produces pending rows to the log in
sequence order; the engine calls :func:`forget_archived` in the batch
transaction that archives the records; ``haven up`` calls
:func:`requeue_unarchived` after the embedded broker lost its memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from events.envelope import SYSTEM_SOURCE

logger = logging.getLogger("haven.outbox")

CHANNEL = "haven_sealed_outbox"
EventRef = tuple[str, str]  # (source, id)


@dataclass(frozen=True)
class SealedRecord:
    """One sealed log record and the ``(source, id)`` it carries."""

    source: str
    event_id: str
    key: bytes | None
    value: bytes

    @property
    def ref(self) -> EventRef:
        """``(source, id)``: the dedupe mark."""
        return (self.source, self.event_id)


def _refs(refs: Sequence[EventRef]) -> dict[str, list[str]]:
    return {"s": [s for s, _ in refs], "i": [i for _, i in refs]}


def stage_sealed(
    conn: Connection, records: Sequence[SealedRecord], *, notify: bool = True
) -> list[SealedRecord]:
    """Mark and store the records not sealed before (caller's transaction); returns those.

    ``notify``: wake the relay through Postgres when new rows commit.  The
    sealer, whose relay runs in its own event loop, wakes it directly instead.

    The arrays go in binary form (``%(x)b``): psycopg's text form escapes every
    byte of every value in Python, which cost more than the rest of the batch.
    """
    if not records:
        return []
    marked = conn.exec_driver_sql(_MARK, _refs([r.ref for r in records]))
    new = {(row[0], row[1]) for row in marked}
    fresh = []
    for record in records:
        if record.ref in new:
            new.discard(record.ref)
            fresh.append(record)
    if fresh:
        keys = {"k": [r.key for r in fresh], "v": [r.value for r in fresh]}
        conn.exec_driver_sql(_STAGE, _refs([r.ref for r in fresh]) | keys)
        if notify:
            conn.execute(text(f"NOTIFY {CHANNEL}"))
    return fresh


_MARK = (
    "INSERT INTO haven_core.sealed_events (source, event_id)"
    " SELECT * FROM unnest(%(s)b::text[], %(i)b::text[])"
    " ON CONFLICT DO NOTHING RETURNING source, event_id"
)
_FORGET = (
    "DELETE FROM haven_core.sealed_outbox WHERE (source, event_id) IN"
    " (SELECT * FROM unnest(%(s)b::text[], %(i)b::text[]))"
)
_STAGE = (
    "INSERT INTO haven_core.sealed_outbox (source, event_id, record_key, record_value)"
    " SELECT s, i, k, v FROM unnest(%(s)b::text[], %(i)b::text[], %(k)b::bytea[],"
    " %(v)b::bytea[]) WITH ORDINALITY AS t(s, i, k, v, n) ORDER BY n"
)


def forget_archived(conn: Connection, refs: Sequence[EventRef]) -> None:
    """Drop the outbox rows of records now in the log archive (engine's transaction)."""
    if refs:
        conn.exec_driver_sql(_FORGET, _refs(refs))


def requeue_unarchived(engine: Engine, partitions: int) -> int:
    """Mark every record the engine has not archived as pending again (the log lost it).

    The sealed outbox's rows, and the system outbox's events the archive
    lacks in some partition of the ``partitions`` they went to.  Returns how
    many sealed records wait to be produced.
    """
    with engine.begin() as conn:
        result = conn.execute(
            text(
                "UPDATE haven_core.sealed_outbox SET relayed_at = NULL WHERE relayed_at IS NOT NULL"
            )
        )
        waiting = conn.execute(text("SELECT count(*) FROM haven_core.sealed_outbox")).scalar()
        system = conn.execute(_REQUEUE_SYSTEM, {"sys": SYSTEM_SOURCE, "n": partitions}).rowcount
    logger.info(
        "outboxes requeued",
        extra={"requeued": result.rowcount, "waiting": waiting, "system_events": system},
    )
    return int(waiting or 0)


# A system event is archived once per partition it went to: every partition
# without a subject, its subject's one otherwise.  One the archive lacks
# somewhere goes again (a partition that has it drops the repeat by its id).
_REQUEUE_SYSTEM = text(
    "UPDATE haven_core.system_outbox o SET relayed_at = NULL"
    " WHERE relayed_at IS NOT NULL AND ("
    "   SELECT count(DISTINCT partition) FROM haven_core.audit_ledger l"
    "   WHERE l.source = :sys AND l.event_id = o.event_id)"
    " < CASE WHEN convert_from(o.payload, 'UTF8')::jsonb ->> 'subject' IS NULL"
    "   THEN :n ELSE 1 END"
)
