"""Logging a read and opening its sealed fields, with the keys fetched by the same statement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from projectors.keys.keyring import Keyring
from services.api.db.access_log import log_reads
from services.api.db.unseal import sealed_kids, unseal


async def log_and_open(
    core: Engine,
    keyring: Keyring,
    read: tuple[str, str | None, Iterable[str]],
    values: list[Any],
) -> list[Any]:
    """``values`` with their sealed fields opened, once ``read`` (agency, endpoint,
    subjects) is in the access log.

    The keys the cache does not hold come with the access-log statement.  A
    key that was fresh before that round trip may have aged out of the cache
    while it ran: those are fetched once more on the loop, so opening the
    fields never asks the database from the event loop (if even that was too
    slow, the fields are opened in a worker thread, where the keyring may ask).
    """
    agency_id, endpoint, subjects = read
    kids = sealed_kids(values)
    wanted = keyring.stale(kids)
    keyring.remember(wanted, await log_reads(core, agency_id, endpoint, subjects, wanted))
    aged = keyring.stale(kids)
    if aged:
        keyring.remember(aged, await log_reads(core, agency_id, None, (), aged))
    if keyring.stale(kids):
        return await run_in_threadpool(unseal, values, keyring.key)
    opened: list[Any] = unseal(values, keyring.key)
    return opened
