"""The engine's read of a grant batch's subjects' ledger entries goes through the
subject index, statistics or not.

The ledger fills by thousands of entries a second from empty, and until
autovacuum first analyses it the planner has no statistics.  Asked for the
entries of several subjects (``subject_id = ANY(...)``) with ``topic =`` and
``partition =``, its generic plan chose the primary key ``(topic, partition,
log_offset)`` and walked the whole log partition for every batch with a
grant; the read names topic and partition so only the subject index fits
(``projectors.engine.prefetch.LEDGER_OF_SUBJECTS``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from projectors.engine.prefetch import LEDGER_OF_SUBJECTS
from services.bench.stats import scalar

FILL = (
    "INSERT INTO haven_core.audit_ledger (topic, partition, log_offset, event_id, source,"
    " event_type, producer, subject_id, event_time, recipients, outcome, record_sha256,"
    " prev_hash, entry_hash)"
    " SELECT 'log', n % 6, n, 'e' || n, 'src', 't', 'p', 's' || (n % 2000), now(), '{}',"
    " 'applied', '\\x00', '\\x00', '\\x00' FROM generate_series(1, 30000) AS n"
)
#: The parameters' types and values.
PARAMS = {"s": ("text[]", "ARRAY['s1', 's2', 's3']"), "t": ("text", "'log'"), "p": ("int", "1")}


def _plan(engine: Engine, sql: str, params: dict[str, tuple[str, str]]) -> str:
    """The generic plan of ``sql`` prepared: the one a prepared statement settles on (as
    the engine's do after a few runs), which cannot know the values."""
    names = list(params)
    for number, name in enumerate(names, 1):
        sql = sql.replace(f"%({name})s", f"${number}").replace(f"%({name})b", f"${number}")
    types = ", ".join(params[n][0] for n in names)
    values = ", ".join(params[n][1] for n in names)
    with engine.connect() as conn:
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE probe({types}) AS {sql}")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE probe({values})"))
        conn.exec_driver_sql("DEALLOCATE probe")
        conn.rollback()
    return plan


@pytest.fixture
def unanalysed_ledger(engine: Engine) -> Engine:
    """30,000 ledger entries over 2,000 subjects, never analysed."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE haven_core.audit_ledger SET (autovacuum_enabled = false)"))
        conn.execute(text(FILL))
    analysed = scalar(
        engine,
        "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'haven_core'"
        " AND relname = 'audit_ledger' AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL",
    )
    assert analysed == 0
    return engine


def test_the_grant_batch_ledger_read_probes_the_subject_index_without_statistics(
    unanalysed_ledger: Engine,
) -> None:
    plan = _plan(unanalysed_ledger, LEDGER_OF_SUBJECTS, PARAMS)
    assert "audit_ledger_subject" in plan, plan
    assert "audit_ledger_pkey" not in plan, plan
    # Written plainly, the planner walks the partition through the primary key.
    naive = LEDGER_OF_SUBJECTS.replace("topic || '' =", "topic =")
    naive = naive.replace("partition + 0 =", "partition =")
    assert "audit_ledger_pkey" in _plan(unanalysed_ledger, naive, PARAMS), "else moot"
