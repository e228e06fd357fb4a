"""Read-model schemas are made in a short transaction of their own.

A batch that first meets a schema must not hold the schema's lock until it
commits: the first batches of the other partitions would wait for it in turn.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text

from projectors.readmodels.registry import default_registry
from projectors.readmodels.schemas import make_schema

_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = :s")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext(:s))")


def test_a_schema_made_inside_a_batch_is_committed_and_its_lock_free_at_once(
    engine: Engine,
) -> None:
    registry = default_registry()
    schema = "agency_schema_probe"
    with engine.connect() as batch:
        batch.begin()
        batch.execute(text("SELECT 1"))  # the batch's transaction is open
        make_schema(engine, schema, registry)
        with engine.connect() as other:
            assert set(other.execute(_TABLES, {"s": schema}).scalars()) == registry.table_names()
            assert other.execute(_TRY_LOCK, {"s": schema}).scalar() is True
            other.rollback()
        batch.rollback()
    with engine.connect() as conn:  # the batch rolled back; the empty tables stay
        assert set(conn.execute(_TABLES, {"s": schema}).scalars()) == registry.table_names()


def test_a_schema_already_made_is_not_locked_again(engine: Engine) -> None:
    registry = default_registry()
    schema = "agency_schema_made"
    make_schema(engine, schema, registry)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        done = threading.Event()

        def again() -> None:
            make_schema(engine, schema, registry)
            done.set()

        threading.Thread(target=again, daemon=True).start()
        assert done.wait(10), "make_schema waited for the lock of a schema already made"
        holder.rollback()


def test_statistics_tables_go_in_their_own_schema(engine: Engine) -> None:
    statistics = default_registry().statistics()
    make_schema(engine, "haven_stats_probe", statistics)
    names = {table.name for p in statistics for table in p.metadata.tables.values()}
    with engine.connect() as conn:
        assert set(conn.execute(_TABLES, {"s": "haven_stats_probe"}).scalars()) == names


def test_a_schema_missing_a_table_gets_it_back(engine: Engine) -> None:
    registry = default_registry()
    schema = "agency_schema_partial"
    make_schema(engine, schema, registry)
    gone = sorted(registry.table_names())[-1]
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE "{schema}"."{gone}" CASCADE'))
        assert gone not in set(conn.execute(_TABLES, {"s": schema}).scalars())
    make_schema(engine, schema, registry)
    with engine.connect() as conn:
        assert set(conn.execute(_TABLES, {"s": schema}).scalars()) == registry.table_names()
