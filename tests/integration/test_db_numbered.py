"""Writes with numbered parameters (``infra.db.write_numbered``): the rows they write,
the errors they raise, inside and outside a pipeline."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from infra.db import Numbered, pipelined, write_numbered

INSERT = Numbered.of("INSERT INTO numbered (k, v, w) VALUES (%(k)s, %(v)s, %(v)s || '%%')")


def test_parameters_are_numbered_in_order_of_first_use() -> None:
    assert INSERT.numbered == b"INSERT INTO numbered (k, v, w) VALUES ($1, $2, $2 || '%')"
    assert INSERT.names == ("k", "v")
    with pytest.raises(ValueError, match="stray"):
        Numbered.of("SELECT 'x%' WHERE a = %(a)s")


def test_written_rows_inside_and_outside_a_pipeline(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE numbered (k int PRIMARY KEY, v text, w text)")
        write_numbered(conn, INSERT, {"k": 1, "v": "one"})
        with pipelined(conn):
            for k in (2, 3):
                write_numbered(conn, INSERT, {"k": k, "v": f"n{k}", "unused": "x"})
        rows = conn.exec_driver_sql("SELECT k, v, w FROM numbered ORDER BY k").all()
        conn.rollback()
    assert [tuple(r) for r in rows] == [(1, "one", "one%"), (2, "n2", "n2%"), (3, "n3", "n3%")]


def test_a_failure_raises_as_sqlalchemy_would(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE numbered (k int PRIMARY KEY, v text, w text)")
        write_numbered(conn, INSERT, {"k": 1, "v": "one"})
        with pytest.raises(IntegrityError):
            write_numbered(conn, INSERT, {"k": 1, "v": "again"})
        conn.rollback()
        conn.exec_driver_sql("CREATE TEMP TABLE numbered (k int PRIMARY KEY, v text, w text)")
        with pytest.raises(IntegrityError):
            _twice_in_a_pipeline(conn)
        conn.rollback()


def _twice_in_a_pipeline(conn: Connection) -> None:
    with pipelined(conn):
        write_numbered(conn, INSERT, {"k": 5, "v": "a"})
        write_numbered(conn, INSERT, {"k": 5, "v": "b"})
