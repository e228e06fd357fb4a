"""A few rows joined to a table by key go through its index, whatever its size.

Postgres guesses 100 rows for any ``jsonb_array_elements``; for that many it
hashes them and scans a table of a few thousand rows whole, for every
statement.  ``json_rows(..., sized=True)`` tells it how many there are.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from infra.bulk import Columns, json_rows, rows_param
from projectors.readmodels.rendering import driver_sql

COLUMNS: Columns = (("k", "text"), ("x", "int"))


def _plan(engine: Engine, sized: bool) -> str:
    source, (key, value) = json_rows(COLUMNS, sized=sized)
    statement = f"EXPLAIN UPDATE sized_probe AS t SET x = {value} FROM {source} WHERE t.k = {key}"
    rows = [[f"k{n}", n] for n in (7, 70, 700)]
    with engine.connect() as conn:
        conn.exec_driver_sql(
            "CREATE TEMP TABLE sized_probe AS"
            " SELECT 'k' || n AS k, n AS x FROM generate_series(1, 5000) AS n"
        )
        conn.exec_driver_sql("ALTER TABLE sized_probe ADD PRIMARY KEY (k)")
        conn.exec_driver_sql("ANALYZE sized_probe")
        lines = conn.exec_driver_sql(driver_sql(text(statement)), rows_param(rows, sized=sized))
        plan = "\n".join(line for (line,) in lines)
        conn.rollback()
    return plan


def test_a_sized_source_is_joined_through_the_key_index(engine: Engine) -> None:
    plan = _plan(engine, sized=True)
    assert "Index Scan using sized_probe_pkey" in plan, plan
    assert "Seq Scan on sized_probe" not in plan, plan


def test_unsized_the_same_rows_scan_the_whole_table(engine: Engine) -> None:
    """What ``sized`` avoids (if Postgres stops guessing so, ``sized`` can go)."""
    assert "Seq Scan on sized_probe" in _plan(engine, sized=False)


def test_a_sized_source_updates_the_rows_given(engine: Engine) -> None:
    source, (key, value) = json_rows(COLUMNS, sized=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE sized_rows (k text PRIMARY KEY, x int)"))
        conn.execute(text("INSERT INTO sized_rows VALUES ('a', 0), ('b', 0), ('c', 0)"))
        conn.execute(
            text(f"UPDATE sized_rows AS t SET x = {value} FROM {source} WHERE t.k = {key}"),
            rows_param([["a", 1], ["c", 3]], sized=True),
        )
        got = dict(conn.execute(text("SELECT k, x FROM sized_rows")).all())
    assert got == {"a": 1, "b": 0, "c": 3}
