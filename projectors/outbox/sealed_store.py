"""The relay's side of the sealed outbox: pending rows, marking them, waiting for more.

Blocking; the relay calls it through ``asyncio.to_thread``.  Writers
``NOTIFY`` :data:`projectors.outbox.sealed.CHANNEL` when they commit rows;
:meth:`OutboxStore.wait_notified` listens on a connection of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, text

from projectors.outbox.sealed import CHANNEL


@dataclass(frozen=True)
class Pending:
    """An outbox row to produce."""

    seq: int
    key: bytes | None
    value: bytes


class OutboxStore:
    """Blocking access for the relay (called through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._listener: psycopg.Connection[object] | None = None
        self._listening = threading.Lock()

    def pending(self, limit: int) -> list[Pending]:
        """The oldest rows not yet produced, in sequence order."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT seq, record_key, record_value FROM haven_core.sealed_outbox"
                    " WHERE relayed_at IS NULL ORDER BY seq LIMIT :n"
                ),
                {"n": limit},
            ).all()
        return [Pending(seq, None if key is None else bytes(key), bytes(v)) for seq, key, v in rows]

    def mark_relayed(self, seqs: Iterable[int]) -> None:
        """Record that the log acknowledged these rows."""
        with self._engine.begin() as conn:
            conn.execute(
                # Rows the engine is deleting are locked: skipped, never waited for (no
                # deadlock with its batch; if it rolls back, the row is relayed again).
                text(
                    "UPDATE haven_core.sealed_outbox SET relayed_at = now() WHERE seq IN"
                    " (SELECT seq FROM haven_core.sealed_outbox WHERE seq = ANY(:s)"
                    " FOR UPDATE SKIP LOCKED)"
                ),
                {"s": list(seqs)},
            )

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
