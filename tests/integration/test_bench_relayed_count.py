"""The sealer bench's drain count: records sealed and acknowledged by the log, counted
from the sealer's marks and the pending outbox rows (real Postgres, the sealer's calls)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, text

from projectors.outbox.sealed_store import OutboxStore
from services.bench.sealer_bench import RELAYED
from services.bench.stats import scalar
from tests.integration.outbox_kit import stage_records

pytestmark = pytest.mark.integration

_RELAYED_ROWS = "SELECT count(*) FROM haven_core.sealed_outbox WHERE relayed_at IS NOT NULL"


def _stage(engine: Engine, ids: list[str]) -> None:
    stage_records(engine, "bench-count", ids)


def _seqs(engine: Engine, ids: list[str]) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seq FROM haven_core.sealed_outbox"
                " WHERE source = 'bench-count' AND event_id = ANY(:i)"
            ),
            {"i": ids},
        )
        return [int(seq) for (seq,) in rows]


def _relayed_rows(engine: Engine) -> int:
    """What the count stands for, counted as the bench did before (every outbox row)."""
    return scalar(engine, _RELAYED_ROWS)


def test_counts_the_records_the_log_acknowledged_and_no_others(engine: Engine) -> None:
    before, rows_before = scalar(engine, RELAYED), _relayed_rows(engine)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    _stage(engine, ids)
    assert scalar(engine, RELAYED) == before  # sealed, not yet acknowledged
    store = OutboxStore(engine)
    store.mark_relayed(_seqs(engine, ids[:3]))
    assert scalar(engine, RELAYED) - before == _relayed_rows(engine) - rows_before == 3
    _stage(engine, ids)  # sealed again (redelivered): no new mark, no new row
    assert scalar(engine, RELAYED) - before == 3
    store.mark_relayed(_seqs(engine, ids[3:]))
    assert scalar(engine, RELAYED) - before == _relayed_rows(engine) - rows_before == 5
