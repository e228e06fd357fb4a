"""The access log: every API read of subject data (agency, subject, endpoint, time)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, text

_INSERT = text(
    "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"
    " SELECT :a, s, :e FROM unnest(CAST(:subjects AS text[])) AS s"
)


def record_reads(core: Engine, agency_id: str, endpoint: str, subjects: Iterable[str]) -> None:
    """Log one read per distinct subject (blocking; fails the request if it fails)."""
    distinct = sorted(set(subjects))
    if not distinct:
        return
    with core.begin() as conn:
        conn.execute(_INSERT, {"a": agency_id, "e": endpoint, "subjects": distinct})
