"""Crypto-shredding of a subject's key epochs, in the caller's transaction.

Used by the engine (erasure hold 0: in the withdrawal's own batch) and by the
scheduler (when a hold ends).  Destroying a key nulls its wrapped bytes; the
``haven_core.keys`` row stays as proof.  ``haven.erasure.executed.v1`` goes
into the system outbox in the same transaction, keyed by the subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from events.types.system import ErasureExecuted
from projectors.outbox.store import enqueue, system_event


@dataclass(frozen=True)
class DueErasure:
    """A scheduled destruction whose hold has ended."""

    withdrawal_event_id: str
    subject_id: str
    max_epoch: int


def destroy_subject_epochs(conn: Connection, erasure: DueErasure) -> list[str]:
    """Destroy the subject's epochs up to ``max_epoch``, mark the schedule, emit the event."""
    kids = [
        row[0]
        for row in conn.execute(
            text(
                "UPDATE haven_core.keys SET wrapped = NULL, destroyed_at = now()"
                " WHERE scope = 'subject' AND owner = :s AND epoch <= :e"
                " AND wrapped IS NOT NULL RETURNING kid"
            ),
            {"s": erasure.subject_id, "e": erasure.max_epoch},
        )
    ]
    kids.sort()
    conn.execute(
        text(
            "UPDATE haven_core.scheduled_erasures SET executed_at = now(), key_ids = :k"
            " WHERE withdrawal_event_id = :w"
        ),
        {"k": kids, "w": erasure.withdrawal_event_id},
    )
    mark_destroyed(conn, erasure.withdrawal_event_id, kids)
    executed = ErasureExecuted(
        key_ids=kids,
        executed_at=datetime.now(UTC),
        withdrawal_event_id=erasure.withdrawal_event_id,
    )
    enqueue(conn, system_event(executed, subject=erasure.subject_id))
    return kids


def mark_destroyed(conn: Connection, withdrawal_event_id: str, kids: list[str]) -> None:
    """Receipts of the withdrawal now say the keys are destroyed."""
    conn.execute(
        text(
            "UPDATE haven_core.erasure_receipts SET key_action = 'destroyed', key_ids = :k,"
            " updated_at = now() WHERE withdrawal_event_id = :w AND key_action <> 'not_honoured'"
            " AND key_action <> 'none'"
        ),
        {"k": kids, "w": withdrawal_event_id},
    )


def due_erasures(conn: Connection, limit: int = 100) -> list[DueErasure]:
    """Scheduled destructions whose hold has ended (locked for this transaction)."""
    rows = conn.execute(
        text(
            "SELECT withdrawal_event_id, subject_id, max_epoch FROM haven_core.scheduled_erasures"
            " WHERE cancelled_at IS NULL AND executed_at IS NULL AND due_at <= now()"
            " ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED"
        ),
        {"n": limit},
    )
    return [DueErasure(r[0], r[1], r[2]) for r in rows]


def cancel_pending(conn: Connection, subject_id: str) -> list[str]:
    """A new entitled grant before the hold ends cancels the destruction."""
    cancelled = [
        row[0]
        for row in conn.execute(
            text(
                "UPDATE haven_core.scheduled_erasures SET cancelled_at = now()"
                " WHERE subject_id = :s AND cancelled_at IS NULL AND executed_at IS NULL"
                " AND due_at > now() RETURNING withdrawal_event_id"
            ),
            {"s": subject_id},
        )
    ]
    if cancelled:
        conn.execute(
            text(
                "UPDATE haven_core.erasure_receipts SET key_action = 'cancelled',"
                " updated_at = now() WHERE withdrawal_event_id = ANY(:w)"
                " AND key_action = 'scheduled'"
            ),
            {"w": cancelled},
        )
    return cancelled
