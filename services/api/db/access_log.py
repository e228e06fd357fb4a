"""The access log: every API read of subject data (agency, subject, endpoint, time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, text

from services.api.db.retry import once_more_if_dropped

_INSERT = text(
    "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"
    " SELECT :a, s, :e FROM unnest(CAST(:subjects AS text[])) AS s"
)

_INSERT_AND_KEYS = text(
    "WITH logged AS (INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"
    " SELECT :a, s, :e FROM unnest(CAST(:subjects AS text[])) AS s)"
    " SELECT kid, wrapped FROM haven_core.keys WHERE kid = ANY(CAST(:kids AS text[]))"
)


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
