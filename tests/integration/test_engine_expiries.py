"""Grant expiries are written with the batch: only each grant's last word is stored."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, text

from projectors.testing.engine_rig import EngineRig
from tests.integration.test_engine_core import (
    GRANTED,
    IDENTIFIED,
    WITHDRAWN,
    grant,
    identification,
    withdrawal,
)

LATER, LATEST = "2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"


@pytest.mark.parametrize("batch_size", [1, 500])
def test_expiries_stored_and_forgotten_in_log_order(
    engine: Engine, master_key: bytes, batch_size: int
) -> None:
    rig = EngineRig(engine, master_key)
    rig.register("ngo_gr", "ngo", "GR")
    subject = str(uuid.uuid4())
    with engine.begin() as conn:  # a stale row, already emitted, that a new grant replaces
        conn.execute(
            text("INSERT INTO haven_core.consent_expiries VALUES (:s, 'c3', now(), now())"),
            {"s": subject},
        )
    rig.publish("ngo_gr", IDENTIFIED, identification(), subject=subject)
    for consent_id in ("c1", "c2", "c3"):
        rig.publish("ngo_gr", GRANTED, grant(consent_id) | {"expires_at": LATER}, subject=subject)
    rig.publish("ngo_gr", WITHDRAWN, withdrawal(), subject=subject)  # ends c1, c2 and c3
    rig.publish("ngo_gr", GRANTED, grant("c2") | {"expires_at": LATEST}, subject=subject)
    rig.run(batch_size=batch_size)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT consent_id, expires_at::text, emitted_at FROM haven_core.consent_expiries"
                " WHERE subject_id = :s"
            ),
            {"s": subject},
        ).all()
    assert [(c, at[:10], emitted) for c, at, emitted in rows] == [("c2", "2027-02-01", None)]
