"""A few rows joined to a table by key go through its index, whatever its size.

Postgres guesses 100 rows for any ``jsonb_array_elements``; for that many it
hashes them and scans a table of a few thousand rows whole, for every
statement.  ``json_rows(..., sized=True)`` tells it how many there are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, make_url, text

from infra.bulk import Columns, json_rows, rows_param
from infra.db import sync_engine
from projectors.readmodels.rendering import driver_sql

COLUMNS: Columns = (("k", "text"), ("x", "int"))


def _probe(conn: Connection, create: str, cost: str) -> None:
    """Temporary table ``probe`` made by ``create``, keyed by ``k`` and analysed, with
    ``random_page_cost`` at ``cost`` (``""``: the server's own)."""
    if cost:
        conn.exec_driver_sql(f"SET random_page_cost = {cost}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE probe AS {create}")
    conn.exec_driver_sql("ALTER TABLE probe ADD PRIMARY KEY (k)")
    conn.exec_driver_sql("ANALYZE probe")


def _explain(engine: Engine, create: str, rows: list[list[Any]], sized: bool, cost: str) -> str:
    """The plan of updating table ``probe`` (made by ``create``) from ``rows`` by key, with
    ``random_page_cost`` at ``cost`` (``""``: the server's own)."""
    source, (key, value) = json_rows(COLUMNS, sized=sized)
    statement = f"EXPLAIN UPDATE probe AS t SET x = {value} FROM {source} WHERE t.k = {key}"
    with engine.connect() as conn:
        _probe(conn, create, cost)
        lines = conn.exec_driver_sql(driver_sql(text(statement)), rows_param(rows, sized=sized))
        plan = "\n".join(line for (line,) in lines)
        conn.rollback()
    return plan


def _plan(engine: Engine, sized: bool) -> str:
    # Postgres's default cost, as a server Haven did not configure has it (the embedded
    # one prices random reads lower, which makes index scans likelier still).
    create = "SELECT 'k' || n AS k, n AS x FROM generate_series(1, 5000) AS n"
    return _explain(engine, create, [[f"k{n}", n] for n in (7, 70, 700)], sized, "4")


def test_a_sized_source_is_joined_through_the_key_index(engine: Engine) -> None:
    plan = _plan(engine, sized=True)
    assert "Index Scan using probe_pkey" in plan, plan
    assert "Seq Scan on probe" not in plan, plan


def test_unsized_the_same_rows_scan_the_whole_table(engine: Engine) -> None:
    """What ``sized`` avoids (if Postgres stops guessing so, ``sized`` can go)."""
    assert "Seq Scan on probe" in _plan(engine, sized=False)


def test_a_sized_source_updates_the_rows_given(engine: Engine) -> None:
    source, (key, value) = json_rows(COLUMNS, sized=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE sized_rows (k text PRIMARY KEY, x int)"))
        conn.execute(text("INSERT INTO sized_rows VALUES ('a', 0), ('b', 0), ('c', 0)"))
        conn.execute(
            text(f"UPDATE sized_rows AS t SET x = {value} FROM {source} WHERE t.k = {key}"),
            rows_param([["a", 1], ["c", 3]], sized=True),
        )
        got: dict[str, int] = dict(conn.execute(text("SELECT k, x FROM sized_rows")).all())
    assert got == {"a": 1, "b": 0, "c": 3}


def test_dozens_of_rows_into_a_wide_table_go_through_its_index(engine: Engine) -> None:
    """The embedded server prices a random page read as the cached, solid-state read it
    is (``random_page_cost`` 1.1, not the spinning disk's 4): at 4 the engine's upserts of
    a hundred rows into a ``subjects`` table of a few thousand wide rows read it whole,
    for every statement (a tenth of Postgres's time in the paced bench)."""
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW random_page_cost").scalar() == "1.1"
    create = (
        "SELECT 'k' || n AS k, n AS x, repeat('p', 400) AS payload"
        " FROM generate_series(1, 3000) AS n"
    )
    rows = [[f"k{n}", n] for n in range(1, 3000, 30)]
    assert "Seq Scan on probe" in _explain(engine, create, rows, True, "4"), "at 4 it would"
    plan = _explain(engine, create, rows, True, "")
    assert "Seq Scan on probe" not in plan, plan


def _prepared_plans(engine: Engine, counts: tuple[int, ...]) -> list[str]:
    """The plans of one prepared sized update by key, executed with ``counts`` rows,
    into a table of 5,000 rows at Postgres's default ``random_page_cost``."""
    source, (key, value) = json_rows(COLUMNS, sized=True)
    source = source.replace(":u_n", "$2").replace(":u", "$1")
    statement = f"UPDATE probe AS t SET x = {value} FROM {source} WHERE t.k = {key}"
    plans = []
    with engine.connect() as conn:
        _probe(conn, "SELECT 'k' || n AS k, n AS x FROM generate_series(1, 5000) AS n", "4")
        conn.exec_driver_sql(f"PREPARE up(text, bigint) AS {statement}")
        for count in counts:
            param = rows_param([[f"k{n}", n] for n in range(1, count + 1)], sized=True)
            # EXECUTE takes no bound parameters: the test's rows as literals (no quotes).
            lines = conn.exec_driver_sql(f"EXPLAIN EXECUTE up('{param['u']}', {count})")
            plans.append("\n".join(line for (line,) in lines))
        conn.rollback()
    return plans


def test_generic_plans_take_the_key_index_for_any_batch(database_url: str) -> None:
    """The worker's engine plans each prepared statement once, for any parameters
    (``sync_engine(generic_plans=True)``), instead of replanning the sized writes at
    most executions; that one plan must go through the key index for a batch of
    three rows and of two thousand alike."""
    generic = sync_engine(database_url, pool_size=1, generic_plans=True)
    try:
        with generic.connect() as conn:
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
        for plan in _prepared_plans(generic, (3, 2000)):
            assert "Index Scan using probe_pkey" in plan, plan
            assert "Seq Scan on probe" not in plan, plan
    finally:
        generic.dispose()


def test_generic_plans_keep_the_options_the_url_gives(database_url: str) -> None:
    """A deployment's own session options (``?options=`` in the URL) still apply."""
    given = make_url(database_url)
    options = {"options": "-c statement_timeout=4321"}
    url = given.update_query_dict(options).render_as_string(hide_password=False)
    generic = sync_engine(url, pool_size=1, generic_plans=True)
    try:
        with generic.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
    finally:
        generic.dispose()


def test_custom_plans_change_with_the_batch(engine: Engine) -> None:
    """What a session of its own does (``plan_cache_mode`` auto): it plans the first
    executions for their parameters, so a large batch scans the table."""
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
    small, large = _prepared_plans(engine, (3, 2000))
    assert "Index Scan using probe_pkey" in small, small
    assert "Seq Scan on probe" in large, large
