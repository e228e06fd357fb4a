"""Small helpers for the bench figures: percentiles, rates, the machine."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence

import psutil
from sqlalchemy import Engine, text

SYSTEM_SOURCE = "urn:haven:system"


def percentile_ms(seconds: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1) of durations in seconds, in ms."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1e3, 1)


def rate(count: int, seconds: float) -> int | None:
    """Events per second, or None for an empty interval."""
    return round(count / seconds) if seconds > 0 else None


def machine() -> str:
    """What ran the bench: architecture, cores, memory, OS and Python."""
    memory_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()} {os.cpu_count()} cores {memory_gb:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def scalar(engine: Engine, sql: str, **params: object) -> int:
    """One integer from ``sql`` (0 for NULL)."""
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def ledger_events(engine: Engine) -> int:
    """Agency events the engine has judged (applied or refused), duplicates excluded."""
    return scalar(
        engine,
        "SELECT count(*) FROM haven_core.audit_ledger"
        " WHERE source <> :s AND outcome <> 'duplicate'",
        s=SYSTEM_SOURCE,
    )


def fanout(engine: Engine) -> dict[str, float | int]:
    """Recipient agencies per applied agency event, producer included (audit ledger)."""
    with engine.connect() as conn:
        applied, rows, refused = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE outcome = 'applied'),"
                " coalesce(sum(cardinality(recipients)) FILTER (WHERE outcome = 'applied'), 0),"
                " count(*) FILTER (WHERE outcome = 'refused')"
                " FROM haven_core.audit_ledger WHERE source <> :s"
            ),
            {"s": SYSTEM_SOURCE},
        ).one()
    return {
        "fanout": round(rows / applied, 3) if applied else 0.0,
        "fanout_deliveries": int(rows),
        "applied_events": int(applied),
        "refused_events": int(refused),
    }
