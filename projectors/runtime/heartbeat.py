"""The worker's heartbeat in Postgres: what ``/v1/health`` reads to know workers are ready.

Once its loops report ready, each worker process upserts one row per role it
runs (``host:pid/sealer``, ``host:pid/engine``) in
``haven_core.worker_heartbeats`` every ``interval_s``; a row that stops
beating for :data:`STALE_AFTER_S` no longer counts.  One of several engine
processes beats as ``engine:I/N``.  The pipeline is ready while a sealer
and an engine (a lone one, or every share of one) beat: :data:`READY_WORKERS`
counts the pairs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence

from sqlalchemy import Engine, text

logger = logging.getLogger("haven.heartbeat")

STALE_AFTER_S = 15.0
_BEAT = text(
    "INSERT INTO haven_core.worker_heartbeats (worker_id, ready_at, beat_at)"
    " VALUES (:w, now(), now())"
    " ON CONFLICT (worker_id) DO UPDATE SET beat_at = now(),"
    " ready_at = COALESCE(haven_core.worker_heartbeats.ready_at, now())"
)
_FORGET = text("DELETE FROM haven_core.worker_heartbeats WHERE worker_id = :w")
_FRESH = (
    "SELECT worker_id FROM haven_core.worker_heartbeats"
    " WHERE ready_at IS NOT NULL AND beat_at > now() - make_interval(secs => :stale)"
)
#: Ready sealers and ready engines.  A lone engine counts once; engine shares
#: (``engine:I/N``) count once all N of them beat, since the log's partitions
#: of a share that is down are projected by nobody.
READY_ROLES = text(
    f"WITH fresh AS ({_FRESH}),"  # noqa: S608 - constants only
    " shares AS (SELECT regexp_match(worker_id, '/engine:([0-9]+)/([0-9]+)$') AS s FROM fresh),"
    " per_share AS (SELECT s[2]::int AS n, s[1]::int AS i, count(*) AS c"
    " FROM shares WHERE s IS NOT NULL GROUP BY 1, 2),"
    " sets AS (SELECT CASE WHEN count(*) = n THEN min(c) ELSE 0 END AS complete"
    " FROM per_share GROUP BY n)"
    " SELECT (SELECT count(*) FROM fresh WHERE worker_id LIKE '%/sealer') AS sealers,"
    " (SELECT count(*) FROM fresh WHERE worker_id LIKE '%/engine')"
    " + (SELECT coalesce(sum(complete), 0) FROM sets) AS engines"
)
#: Sealer and engine pairs ready (``/v1/health``).
READY_WORKERS = text(f"SELECT LEAST(r.sealers, r.engines) FROM ({READY_ROLES.text}) AS r")  # noqa: S608
#: The roles a process beats for when it runs the whole pipeline (tests, rigs).
ALL_ROLES = ("sealer", "engine")


class Heartbeat:
    """Beats for ``roles`` while the process's services are ready; forgets its rows on stop."""

    def __init__(
        self,
        engine: Engine,
        ready: Sequence[asyncio.Event],
        roles: Sequence[str] = ALL_ROLES,
        interval_s: float = 2.0,
    ) -> None:
        self._engine = engine
        self._ready = ready
        self._interval_s = interval_s
        self._stopping = asyncio.Event()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._rows = [{"w": f"{self.worker_id}/{role}"} for role in roles]

    def _execute(self, statement: object) -> None:
        with self._engine.begin() as conn:
            conn.execute(statement, self._rows)  # type: ignore[call-overload]

    async def run(self) -> None:
        """Wait for readiness, then beat until stopped."""
        for event in self._ready:
            await event.wait()
        logger.info("worker ready", extra={"worker": self.worker_id})
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self._execute, _BEAT)
            except Exception:  # a missed beat only delays readiness
                logger.warning("heartbeat failed", exc_info=True)
            try:
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
            except TimeoutError:
                continue
        await asyncio.to_thread(self._execute, _FORGET)

    def stop(self) -> None:
        """Stop beating."""
        self._stopping.set()
