"""Readiness from heartbeats: engine shares count only when every share beats."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from projectors.runtime.heartbeat import READY_ROLES, READY_WORKERS, STALE_AFTER_S

pytestmark = pytest.mark.integration


def _beat(engine: Engine, worker_id: str, age_s: float = 0.0) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.worker_heartbeats (worker_id, ready_at, beat_at)"
                " VALUES (:w, now(), now() - make_interval(secs => :a))"
                " ON CONFLICT (worker_id) DO UPDATE SET beat_at = EXCLUDED.beat_at"
            ),
            {"w": worker_id, "a": age_s},
        )


def _ready(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        roles = conn.execute(READY_ROLES, {"stale": STALE_AFTER_S}).one()
        pairs = conn.execute(READY_WORKERS, {"stale": STALE_AFTER_S}).scalar_one()
    return int(roles.sealers), int(roles.engines), int(pairs)


def test_engine_shares_are_ready_only_together(engine: Engine) -> None:
    _beat(engine, "h:1/sealer")
    assert _ready(engine) == (1, 0, 0)
    _beat(engine, "h:2/engine:0/2")
    assert _ready(engine) == (1, 0, 0), "one share of two projects half the log"
    _beat(engine, "h:3/engine:1/2")
    assert _ready(engine) == (1, 1, 1)
    _beat(engine, "h:3/engine:1/2", age_s=STALE_AFTER_S + 5)
    assert _ready(engine) == (1, 0, 0), "a share that stopped beating is down"
    _beat(engine, "h:4/engine")
    assert _ready(engine) == (1, 1, 1), "a lone engine projects every partition"
    _beat(engine, "h:5/engine:1/2")
    _beat(engine, "h:6/sealer")
    assert _ready(engine) == (2, 2, 2)
