"""A table that fills fast has planner statistics within seconds.

Haven's tables start empty and fill by thousands of rows a second.  Until
autovacuum first analyses one, the planner has no statistics for it and
answered the engine's read of a batch's granted subjects' ledger entries
(``projectors.engine.prefetch``) by walking the whole log partition through
the primary key.  The embedded server's autovacuum looks every 5 s.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import Engine

#: The engine's prefetch read, against a table shaped like ``haven_core.audit_ledger``.
PREFETCH = (
    "EXPLAIN SELECT subject_id, log_offset FROM {table}"
    " WHERE subject_id = ANY(%(s)s) AND topic = %(t)s AND partition = %(p)s"
)


def _analysed(engine: Engine, table: str) -> bool:
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT last_autoanalyze FROM pg_stat_user_tables WHERE relname = %(r)s",
            {"r": table},
        ).first()
    return row is not None and row[0] is not None


def test_a_table_filled_in_bulk_is_analysed_within_seconds(engine: Engine) -> None:
    name = f"ledger_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SHOW autovacuum_naptime").scalar() == "5s"
        conn.exec_driver_sql(
            f"CREATE TABLE public.{name} (topic text, partition int, log_offset bigint,"
            " subject_id text, PRIMARY KEY (topic, partition, log_offset))"
        )
        conn.exec_driver_sql(
            f"CREATE INDEX {name}_subject ON public.{name}"
            " (subject_id, topic, partition, log_offset)"
        )
        conn.exec_driver_sql(
            f"INSERT INTO public.{name} SELECT 'log', n %% 6, n, 's' || (n %% 2000)"
            " FROM generate_series(1, 30000) AS n"
        )
    try:
        deadline = time.monotonic() + 20
        while not _analysed(engine, name) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _analysed(engine, name), "not analysed within 20 s of its bulk load"
        with engine.connect() as conn:
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            plan = "\n".join(
                line
                for (line,) in conn.exec_driver_sql(
                    PREFETCH.format(table=f"public.{name}"),
                    {"s": ["s1", "s2", "s3"], "t": "log", "p": 1},
                )
            )
        assert f"{name}_subject" in plan, plan
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE public.{name}")
