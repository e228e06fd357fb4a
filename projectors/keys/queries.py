"""Which keys still exist: the selections that erasure and DLQ expiry destroy."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, text


def _live_kids(engine: Engine, condition: str, params: dict[str, object]) -> list[str]:
    # ``condition`` is one of this module's constants, never user input.
    sql = f"SELECT kid FROM haven_core.keys WHERE wrapped IS NOT NULL AND {condition}"  # noqa: S608
    with engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY epoch, kid"), params)
        return [row[0] for row in rows]


def live_subject_kids(engine: Engine, subject: str, epoch: int) -> list[str]:
    """Existing key ids of a subject's epochs ``0..epoch``."""
    return _live_kids(
        engine, "scope = 'subject' AND owner = :s AND epoch <= :e", {"s": subject, "e": epoch}
    )


def expired_dlq_kids(engine: Engine, today: date, retention_days: int) -> list[str]:
    """Existing DLQ key ids of days before ``today - retention_days``."""
    cutoff = (today - timedelta(days=retention_days)).isoformat()
    return _live_kids(engine, "scope = 'dlq' AND owner < :cutoff", {"cutoff": cutoff})
