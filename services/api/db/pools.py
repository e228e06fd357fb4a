"""The API's async connection pools, one per engine and event loop, and the retry.

The read routes run on the event loop: no thread hop and no SQLAlchemy layer
between the request and the driver.  A pool is made on first use with the
login of the engine it is asked for (``context.core`` or ``context.reader``,
so a context with other engines gets other pools), for the running event
loop (a test client may run each request on a loop of its own).  Nothing
connects at import time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from sqlalchemy import Engine

from services.api.db.aio import AioPool

T = TypeVar("T")
#: Connections per engine and API process (measured with 50 clients: docs/api.md).
POOL_SIZE = 8

_POOLS: weakref.WeakKeyDictionary[Engine, dict[asyncio.AbstractEventLoop, AioPool]] = (
    weakref.WeakKeyDictionary()
)


def aio_pool(engine: Engine) -> AioPool:
    """The pool of ``engine``'s login for the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    by_loop = _POOLS.setdefault(engine, {})
    for gone in [other for other in by_loop if other.is_closed()]:
        by_loop.pop(gone).abandon()
    if loop not in by_loop:
        by_loop[loop] = AioPool(engine, POOL_SIZE)
    return by_loop[loop]


async def close_pools(*engines: Engine) -> None:
    """Close the idle connections of ``engines``' pools on the running loop."""
    loop = asyncio.get_running_loop()
    for engine in engines:
        pool = _POOLS.get(engine, {}).pop(loop, None)
        if pool is not None:
            await pool.close()


async def once_more_if_dropped(work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``; once more on a fresh connection if the first one was dropped.

    The async twin of :func:`services.api.db.retry.once_more_if_dropped`: if
    the database itself is down the second attempt fails too (503).
    """
    try:
        return await work()
    except psycopg.errors.ConnectionTimeout:
        raise  # the pool is busy, not broken: no second wait
    except psycopg.OperationalError:
        return await work()
