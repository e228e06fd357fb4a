"""Opening a read's sealed fields with the keys the cache lacks, fetched on the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from projectors.keys.keyring import WRAPPED_KEYS, Keyring
from services.api.db import pools
from services.api.db.unseal import sealed_kids, unseal


async def _wrapped(core: Engine, kids: Sequence[str]) -> dict[str, bytes | None]:
    """The wrapped keys of ``kids`` (kid -> wrapped), one statement on the event loop;
    none wanted: no round trip."""
    if not kids:
        return {}

    async def run() -> dict[str, bytes | None]:
        async with pools.aio_pool(core).connection() as conn:
            cursor = await conn.execute(WRAPPED_KEYS, {"k": list(kids)})
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
        return {str(kid): None if wrapped is None else bytes(wrapped) for kid, wrapped in rows}

    return await pools.once_more_if_dropped(run)


async def open_sealed(core: Engine, keyring: Keyring, values: list[Any]) -> list[Any]:
    """``values`` with their sealed fields opened (log the read first: the reads that
    call this wrote their access-log rows in their own transaction).

    The keys the cache does not hold are fetched in one statement.  A key
    that was fresh before that round trip may have aged out of the cache
    while it ran: those are fetched once more on the loop, so opening the
    fields never asks the database from the event loop (if even that was too
    slow, the fields are opened in a worker thread, where the keyring may ask).
    """
    kids = sealed_kids(values)
    wanted = keyring.stale(kids)
    keyring.remember(wanted, await _wrapped(core, wanted))
    aged = keyring.stale(kids)
    if aged:
        keyring.remember(aged, await _wrapped(core, aged))
    if keyring.stale(kids):
        return await run_in_threadpool(unseal, values, keyring.key)
    opened: list[Any] = unseal(values, keyring.key)
    return opened
