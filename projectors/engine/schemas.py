"""Read-model schemas made on first use, in a short transaction of their own.

A batch that meets a schema whose tables this process has not seen yet (an
agency the directory knows but the engine has not written to, the
statistics, every schema of a fresh replay database) creates them on a
connection of its own and commits at once, under the schema's advisory
lock.  Inside the batch's transaction that lock would be held until the
batch commits, so the first batches of every other partition that touch the
schema would wait for one another in turn: the start of a replay waited
seconds this way.  Tables made for a batch that then rolls back are left
empty, which is harmless: registration makes the same ones, and making them
again does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, text

from projectors.readmodels.sdk import Projector

_PRESENT = text("SELECT tablename FROM pg_tables WHERE schemaname = :s")


def make_schema(engine: Engine, schema: str, projectors: Iterable[Projector]) -> None:
    """Make ``schema`` and the tables of ``projectors`` in it, unless they all exist."""
    wanted = list(projectors)
    names = {table.name for p in wanted for table in p.metadata.tables.values()}
    with engine.begin() as conn:
        if names <= set(conn.execute(_PRESENT, {"s": schema}).scalars()):
            return  # made before (registration, another process)
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        mapped = conn.execution_options(schema_translate_map={None: schema})
        for projector in wanted:
            projector.metadata.create_all(mapped)


__all__ = ["make_schema"]
