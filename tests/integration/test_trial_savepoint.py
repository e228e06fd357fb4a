"""Writes tried in a savepoint and rolled back keep the connection's prepared statements."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from infra.db import Numbered, pipelined, write_numbered
from infra.trial import rolled_back

_INSERT = Numbered.of("INSERT INTO trial_t (a) VALUES (%(a)s::int)")


def _prepared(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one())


def _rows(conn: Connection) -> list[int]:
    return [r[0] for r in conn.exec_driver_sql("SELECT a FROM trial_t ORDER BY a")]


def _warm(conn: Connection) -> None:
    """Run the insert until psycopg has prepared it (its threshold is five executions)."""
    for a in range(6):
        write_numbered(conn, _INSERT, {"a": a})


def test_tried_writes_are_rolled_back_and_the_prepared_statements_stay(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE trial_t (a int CHECK (a < 100))")
        _warm(conn)
        before = _prepared(conn)
        assert before >= 1
        with rolled_back(conn):
            write_numbered(conn, _INSERT, {"a": 50})
            assert 50 in _rows(conn)
        assert _rows(conn) == list(range(6))  # the tried row is gone, the earlier ones stay
        assert _prepared(conn) == before  # psycopg's own savepoint rollback drops them all
        write_numbered(conn, _INSERT, {"a": 7})  # the prepared insert still runs
        assert _rows(conn) == [*range(6), 7]


def test_savepoint_of_sqlalchemy_loses_them(engine: Engine) -> None:
    """What :func:`rolled_back` avoids (so this test fails if psycopg stops doing it,
    and the module's workaround can go)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE trial_t (a int)")
        _warm(conn)
        assert _prepared(conn) >= 1
        with conn.begin_nested() as nested:
            write_numbered(conn, _INSERT, {"a": 50})
            nested.rollback()
        write_numbered(conn, _INSERT, {"a": 8})
        assert _prepared(conn) == 0


def test_a_refused_value_raises_and_the_transaction_goes_on(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE trial_t (a int CHECK (a < 100))")
        _warm(conn)
        with pytest.raises(DBAPIError, match="trial_t_a_check"), rolled_back(conn):
            write_numbered(conn, _INSERT, {"a": 500})
        write_numbered(conn, _INSERT, {"a": 9})  # the savepoint was rolled back
        assert _rows(conn) == [*range(6), 9]
        assert _prepared(conn) >= 1


def test_inside_a_pipeline_it_is_sqlalchemys_savepoint(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE trial_t (a int)")
        with pipelined(conn):
            write_numbered(conn, _INSERT, {"a": 1})
            with rolled_back(conn):
                write_numbered(conn, _INSERT, {"a": 2})
            write_numbered(conn, _INSERT, {"a": 3})
        assert _rows(conn) == [1, 3]
