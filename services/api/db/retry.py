"""One retry when a pooled connection turns out to be dead (the API runs without pre-ping)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg
import sqlalchemy.exc

T = TypeVar("T")


def _dropped(exc: Exception) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, psycopg.OperationalError)


def once_more_if_dropped(work: Callable[[], T]) -> T:
    """``work()``; if it failed on a dropped connection, ``work()`` again on a fresh one.

    The first failure has invalidated that connection; if the database itself
    is down the second attempt fails too, and the API answers 503.
    """
    try:
        return work()
    except (sqlalchemy.exc.DBAPIError, psycopg.OperationalError) as exc:
        if not _dropped(exc):
            raise
        return work()
