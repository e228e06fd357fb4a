"""A pipeline that sends everything it queued before it waits for answers.

psycopg (3.3.9, and its latest source) sends a pipeline's queued commands
with a loop that stops once the queue is empty, even when the connection's
socket could not take the whole of libpq's output buffer (``PQflush``
answered 1). When a *sync* follows (a nested pipeline entered, or
``Pipeline.sync()``), psycopg then waits for answers to commands the server
never got in full: the server waits for the rest of the message (ClientRead),
the client for the answers, for ever. A loopback TCP socket takes megabytes
before that happens; a Unix socket about 200 KiB, and a slow network link
any amount once the server's window is full. The engine's batches nest
pipelines (``infra.db.pipelined``) and can queue megabytes (a replay's
batches of sealed records).

:func:`install` wraps psycopg's send loop: after it returns, what is still
in the output buffer is flushed, reading the server's answers into libpq's
buffer meanwhile so that neither side waits for the other; psycopg then
reads the answers as before. Installed once per process by
:func:`infra.db.sync_engine`, which makes every engine Haven opens pipelines
on; nothing happens at import.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import psycopg
from psycopg import _pipeline_base
from psycopg.abc import PipelineCommand, PQGen
from psycopg.pq.abc import PGconn, PGresult
from psycopg.waiting import Ready, Wait

#: What psycopg's pipelines call to send their queued commands (looked up at each call).
_SEND_LOOP = "pipeline_communicate"
#: Set on the mended loop, so that installing twice wraps it once.
_MENDED = "haven_sends_all"
_lock = threading.Lock()


def _send_all(original: Any) -> Any:
    def communicate(
        pgconn: PGconn, commands: deque[PipelineCommand]
    ) -> PQGen[list[list[PGresult]]]:
        results: list[list[PGresult]] = yield from original(pgconn, commands)
        while pgconn.flush():  # 1: part of the output is still in libpq's buffer
            ready = yield Wait.RW
            if ready & Ready.R:
                pgconn.consume_input()  # the server may be waiting to write to us
        return results

    setattr(communicate, _MENDED, True)
    return communicate


def install() -> None:
    """Make psycopg's pipelines send all they queued before waiting (idempotent)."""
    with _lock:
        current = getattr(_pipeline_base, _SEND_LOOP, None)
        if current is None:  # a psycopg whose pipelines are built otherwise
            raise RuntimeError(f"psycopg {psycopg.__version__}: no {_SEND_LOOP} to mend")
        if not getattr(current, _MENDED, False):
            setattr(_pipeline_base, _SEND_LOOP, _send_all(current))


__all__ = ["install"]
