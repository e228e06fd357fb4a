"""A pool of async psycopg connections of one login, for one event loop.

It opens connections lazily with the connect arguments of a SQLAlchemy
:class:`~sqlalchemy.Engine`, in autocommit, up to ``size``; a connection
older than five minutes is replaced when it is taken, like the sync
engines' ``pool_recycle``; a connection whose statement failed on the wire
is closed, not returned, and every connection opened before that failure is
replaced when it is next taken (after a database restart none of them
works).  :mod:`services.api.db.pools` keeps one per engine and event loop.
Also :func:`column_names`, what the API's reads use instead of psycopg's
``description``, and :func:`json_value`, how its connections decode JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy import Engine

RECYCLE_S = 300.0
WAIT_S = 30.0


Conn = psycopg.AsyncConnection[tuple[object, ...]]
#: A waiter's turn: a connection handed over, or None for a free slot to connect in.
_Turn = tuple[Conn, float] | None
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK


def json_value(data: bytes | str) -> Any:
    """A ``json``/``jsonb`` value as Postgres sends it, decoded by orjson (psycopg's
    default, the ``json`` module, took five to ten times as long per value); what
    orjson refuses (an integer beyond 64 bits) by the ``json`` module."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _rows_result(cursor: psycopg.AsyncCursor[Any]) -> psycopg.pq.abc.PGresult | None:
    """The cursor's current result if it has rows to fetch, else None."""
    result = cursor.pgresult
    return result if result is not None and result.status == _TUPLES_OK else None


def column_names(cursor: psycopg.AsyncCursor[Any]) -> list[str] | None:
    """The column names of the cursor's current result (None: it returns no rows).

    Read from the result itself: psycopg's ``description`` builds a column
    object (with its type looked up) per column at each access, 6 to 10 % of
    the API's CPU per subject read.
    """
    result = _rows_result(cursor)
    if result is None:
        return None
    return [(result.fname(i) or b"").decode() for i in range(result.nfields)]


def returns_rows(cursor: psycopg.AsyncCursor[Any]) -> bool:
    """Whether the cursor's current result has rows to fetch (without ``description``)."""
    return _rows_result(cursor) is not None


class AioPool:
    """Up to ``size`` autocommit connections of one login, for one event loop.

    Waiters are served first come, first served: a connection given back goes
    straight to the longest waiting request, so no read waits behind newer ones.
    """

    def __init__(self, engine: Engine, size: int) -> None:
        _, self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._size = size
        self._idle: deque[tuple[Conn, float]] = deque()
        self._open = 0
        self._waiters: deque[asyncio.Future[_Turn]] = deque()
        #: When a connection last failed on the wire: older ones are replaced when taken.
        self._failed_at = -1.0

    async def _take(self) -> tuple[Conn, float]:
        if self._idle:
            conn, born = self._idle.pop()
        elif self._open < self._size:
            self._open += 1
            return await self._connect()
        else:
            turn = await self._wait()
            if turn is None:
                return await self._connect()
            conn, born = turn
        if conn.closed or born <= self._failed_at or time.monotonic() - born >= RECYCLE_S:
            await conn.close()
            return await self._connect()  # in the slot of the one closed
        return conn, born

    async def _wait(self) -> _Turn:
        waiter: asyncio.Future[_Turn] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(WAIT_S):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():  # served, but leaving: pass it on
                turn = waiter.result()
                if turn is None:
                    self._release_slot()
                else:
                    self._put_back(*turn)
            if isinstance(exc, TimeoutError):
                raise psycopg.errors.ConnectionTimeout("no pooled connection in time") from None
            raise

    async def _connect(self) -> tuple[Conn, float]:
        """A new connection in a slot already counted (given up if connecting fails)."""
        try:
            conn = await psycopg.AsyncConnection.connect(autocommit=True, **self._connect_args)
        except BaseException:
            self._release_slot()
            raise
        set_json_loads(json_value, conn)
        return conn, time.monotonic()

    def _next_waiter(self) -> asyncio.Future[_Turn] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                return waiter
        return None

    def _release_slot(self) -> None:
        waiter = self._next_waiter()
        if waiter is None:
            self._open -= 1
        else:
            waiter.set_result(None)  # the slot passes to the waiter

    def _put_back(self, conn: Conn, born: float) -> None:
        if conn.closed:
            self._release_slot()
            return
        waiter = self._next_waiter()
        if waiter is None:
            self._idle.append((conn, born))
        else:
            waiter.set_result((conn, born))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A pooled connection; closed instead of returned when it failed (dropped)."""
        conn, born = await self._take()
        try:
            yield conn
        except psycopg.OperationalError:
            self._failed_at = time.monotonic()  # the server may have restarted: not these only
            await conn.close()
            self._release_slot()
            raise
        except Exception:
            self._put_back(conn, born)
            raise
        except BaseException:  # cancelled mid-statement: the protocol state is unknown
            await asyncio.shield(conn.close())
            self._release_slot()
            raise
        self._put_back(conn, born)

    def abandon(self) -> None:
        """Close the idle connections without a loop (the loop that made them is closed)."""
        while self._idle:
            conn, _ = self._idle.pop()
            self._open -= 1
            conn.pgconn.finish()

    def idle(self) -> list[Conn]:
        """The connections waiting in the pool now."""
        return [conn for conn, _ in self._idle]

    async def close(self) -> None:
        """Close the idle connections (the API stops)."""
        while self._idle:
            conn, _ = self._idle.pop()
            self._open -= 1
            await conn.close()
