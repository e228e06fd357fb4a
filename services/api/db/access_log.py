"""The access log: every API read of subject data (agency, subject, endpoint, time)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, text

from services.api.db.retry import once_more_if_dropped

_LOG = text(
    "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"
    " SELECT :a, s, :e FROM unnest(CAST(:subjects AS text[])) AS s"
)


def record_reads(core: Engine, agency_id: str, endpoint: str, subjects: Iterable[str]) -> None:
    """Log one read per distinct subject (blocking; fails the request if it fails).

    One statement in autocommit: one round trip, committed when it returns.
    The subject read, its timeline and the logged lists write their rows in
    the read's own transaction instead (``db.agency.read_logged``).
    """
    distinct = sorted(set(subjects))
    if not distinct:
        return
    params = {"a": agency_id, "e": endpoint, "subjects": distinct}

    def insert() -> None:
        with core.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(_LOG, params)

    once_more_if_dropped(insert)


__all__ = ["record_reads"]
