"""The relay's side of the sealed outbox: pending rows, marking them, waiting for more.

Blocking; the relay calls it through ``asyncio.to_thread``.  Writers
``NOTIFY`` :data:`projectors.outbox.sealed.CHANNEL` when they commit rows;
:meth:`OutboxStore.wait_notified` listens on a connection of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, text

from projectors.outbox.sealed import CHANNEL, EventRef

#: A record's key and value.
Record = tuple[bytes | None, bytes]

_PENDING = text(
    "SELECT seq, source, event_id FROM haven_core.sealed_outbox"
    " WHERE relayed_at IS NULL ORDER BY seq LIMIT :n"
)
_VALUES = text(
    "SELECT seq, record_key, record_value FROM haven_core.sealed_outbox WHERE seq = ANY(:s)"
)
_MARK_RELAYED = (
    "UPDATE haven_core.sealed_outbox SET relayed_at = now() WHERE seq IN"
    " (SELECT seq FROM haven_core.sealed_outbox WHERE seq = ANY(%(s)b) FOR UPDATE SKIP LOCKED)"
)


@dataclass(frozen=True)
class Pending:
    """An outbox row to produce."""

    seq: int
    key: bytes | None
    value: bytes
    ref: EventRef = ("", "")


class OutboxStore:
    """Blocking access for the relay (called through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._listener: psycopg.Connection[object] | None = None
        self._listening = threading.Lock()

    def pending(self, limit: int, known: Mapping[EventRef, Record] | None = None) -> list[Pending]:
        """The oldest rows not yet produced, in sequence order.

        ``known``: records the caller holds already, by ``(source, id)``; their
        values are not read back.  A row removed meanwhile (archived: another
        relay produced it) is left out.
        """
        known = known or {}
        with self._engine.connect() as conn:
            rows = conn.execute(_PENDING, {"n": limit}).all()
            # One look-up per row: the caller's loop may drop entries meanwhile.
            values = {seq: known.get((source, event_id)) for seq, source, event_id in rows}
            missing = [seq for seq, value in values.items() if value is None]
            if missing:
                found = conn.execute(_VALUES, {"s": missing})
                values |= {seq: (None if k is None else bytes(k), bytes(v)) for seq, k, v in found}
        pending = []
        for seq, source, event_id in rows:
            record = values.get(seq)
            if record is not None:
                pending.append(Pending(seq, *record, ref=(source, event_id)))
        return pending

    def mark_relayed(self, seqs: Iterable[int]) -> None:
        """Record that the log acknowledged these rows."""
        with self._engine.begin() as conn:
            # Rows the engine is deleting are locked: skipped, never waited for (no
            # deadlock with its batch; if it rolls back, the row is relayed again).  The
            # sequence numbers go as a binary bigint[] (psycopg's text form is Python).
            conn.exec_driver_sql(_MARK_RELAYED, {"s": [int(seq) for seq in seqs]})

    def wait_notified(self, timeout_s: float) -> bool:
        """Block until a writer notifies (True) or ``timeout_s`` passes (False)."""
        with self._listening:
            if self._listener is None or self._listener.closed:
                url = self._engine.url.set(drivername="postgresql")
                self._listener = psycopg.connect(
                    url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
                )
                self._listener.execute(f"LISTEN {CHANNEL}")
            try:
                return any(True for _ in self._listener.notifies(timeout=timeout_s, stop_after=1))
            except psycopg.Error:
                self._close()
                raise

    def close(self) -> None:
        """Close the listening connection (waits for a running :meth:`wait_notified`)."""
        with self._listening:
            self._close()

    def _close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
