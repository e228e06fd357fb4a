"""The access log: every API read of subject data (agency, subject, endpoint, time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, text

from services.api.db import pools
from services.api.db.aio import returns_rows
from services.api.db.retry import once_more_if_dropped

_LOG = (
    "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"
    " SELECT %(a)s, s, %(e)s FROM unnest(CAST(%(subjects)s AS text[])) AS s"
)
_KEYS = "SELECT kid, wrapped FROM haven_core.keys WHERE kid = ANY(CAST(%(kids)s AS text[]))"
#: Log rows and wanted keys in one statement (the insert runs whether or not keys match).
_LOG_AND_KEYS = f"WITH logged AS ({_LOG}) {_KEYS}"


def _bound(sql: str) -> str:
    """``sql`` with SQLAlchemy's ``:name`` placeholders instead of psycopg's."""
    for name in ("a", "e", "subjects", "kids"):
        sql = sql.replace(f"%({name})s", f":{name}")
    return sql


_INSERT, _INSERT_AND_KEYS = text(_bound(_LOG)), text(_bound(_LOG_AND_KEYS))


def record_reads(
    core: Engine, agency_id: str, endpoint: str, subjects: Iterable[str], kids: Sequence[str] = ()
) -> dict[str, bytes | None]:
    """Log one read per distinct subject (blocking; fails the request if it fails).

    One statement in autocommit: one round trip, committed when it returns.
    With ``kids``, the same statement also returns those wrapped keys (the
    ones the response needs to open its sealed fields), kid -> wrapped.
    """
    distinct = sorted(set(subjects))
    if not distinct:
        return {}
    params = {"a": agency_id, "e": endpoint, "subjects": distinct, "kids": list(kids)}

    def insert() -> dict[str, bytes | None]:
        with core.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not kids:
                conn.execute(_INSERT, params)
                return {}
            return {str(kid): wrapped for kid, wrapped in conn.execute(_INSERT_AND_KEYS, params)}

    return once_more_if_dropped(insert)


async def log_reads(
    core: Engine, agency_id: str, endpoint: str | None, subjects: Iterable[str], kids: Sequence[str]
) -> dict[str, bytes | None]:
    """:func:`record_reads` on the event loop, committed before it returns; kid -> wrapped.

    One autocommit statement (prepared by psycopg once a connection has run
    it a few times): the access-log rows of the distinct ``subjects`` (none
    when ``endpoint`` is None: a list that is not a subject read) and the
    wrapped ``kids``.  Nothing to log and no key wanted: no round trip.
    """
    distinct = sorted(set(subjects)) if endpoint is not None else []
    if not distinct and not kids:
        return {}
    sql = (_LOG_AND_KEYS if kids else _LOG) if distinct else _KEYS
    params = {"a": agency_id, "e": endpoint, "subjects": distinct, "kids": list(kids)}

    async def run() -> dict[str, bytes | None]:
        async with pools.aio_pool(core).connection() as conn:
            cursor = await conn.execute(sql, params)
            rows: list[tuple[Any, ...]] = await cursor.fetchall() if returns_rows(cursor) else []
        return {str(kid): None if wrapped is None else bytes(wrapped) for kid, wrapped in rows}

    return await pools.once_more_if_dropped(run)
