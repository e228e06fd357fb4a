"""Bulk inserts held back by ``infra.bulk.deferring`` are made together, once, when
written (the engine's closing writes of a combined transaction)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, text

from infra.bulk import Columns, DeferredInserts, bulk_insert, deferring

COLUMNS: Columns = (("k", "text"), ("n", "int"))


def test_deferred_inserts_wait_and_then_go_out_one_statement_per_kind(engine: Engine) -> None:
    held = DeferredInserts()
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE probe_a (k text PRIMARY KEY, n int)"))
        conn.execute(text("CREATE TEMP TABLE probe_b (k text PRIMARY KEY, n int)"))
        with deferring(conn, held):
            bulk_insert(conn, "probe_a", COLUMNS, [("a1", 1)])
            bulk_insert(conn, "probe_b", COLUMNS, [("b1", 1)], "ON CONFLICT DO NOTHING")
            bulk_insert(conn, "probe_a", COLUMNS, [("a2", 2), ("a3", 3)])
            with pytest.raises(RuntimeError, match="already deferred"), deferring(conn, held):
                pass
        assert conn.execute(text("SELECT count(*) FROM probe_a")).scalar() == 0, "held back"
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", count)
        held.write(conn)
        event.remove(conn, "before_cursor_execute", count)
        rows = conn.execute(text("SELECT k, n FROM probe_a ORDER BY k")).all()
        assert [tuple(r) for r in rows] == [("a1", 1), ("a2", 2), ("a3", 3)]
        assert conn.execute(text("SELECT k FROM probe_b")).scalar() == "b1"
        assert len(statements) == 2, statements  # one per table, columns and tail
        held.write(conn)  # written once: nothing is held any more
        assert conn.execute(text("SELECT count(*) FROM probe_a")).scalar() == 3
        bulk_insert(conn, "probe_b", COLUMNS, [("b2", 2)])  # outside the block: at once
        assert conn.execute(text("SELECT count(*) FROM probe_b")).scalar() == 2
        conn.rollback()


def test_deferred_inserts_refuse_to_be_written_inside_their_own_block(engine: Engine) -> None:
    held = DeferredInserts()
    with (
        engine.connect() as conn,
        deferring(conn, held),
        pytest.raises(RuntimeError, match="inside their own"),
    ):
        held.write(conn)
