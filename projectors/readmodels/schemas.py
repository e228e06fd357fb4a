"""Read-model schemas: a schema and its projector tables, made under its lock.

:func:`lay_out` makes them inside the caller's transaction: an agency's
registration does, so its (empty) read models exist from then on.
:func:`make_schema` makes them in a short transaction of its own, committed
at once: the engine does, for a schema a batch meets that this process has
not written to (an agency the directory knows, the statistics, every schema
of a fresh replay database).  Inside the batch's transaction the schema's
lock would be held until the batch commits, so the first batches of every
other partition that touch the schema would wait for one another in turn:
the start of a replay waited seconds this way.  Tables made for a batch that
then rolls back are left empty, which is harmless: registration makes the
same ones, and making them again does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text

from projectors.readmodels.rendering import quote
from projectors.readmodels.sdk import Projector

#: Which of the tables named exist in the schema: an ordinary read of the catalog
#: through its name indexes.  Not ``pg_tables``, which scans every relation of the
#: database (2.5 ms a schema with 600 agencies, a check per schema and engine
#: process), nor ``to_regclass``, whose lookups leave the session's catalog cache
#: believing the schema absent: after waiting for the lock of a session that was
#: making it, ``CREATE SCHEMA IF NOT EXISTS`` then tried again and failed.
_PRESENT = text(
    "SELECT c.relname FROM pg_catalog.pg_class AS c"
    " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
    " WHERE n.nspname = :s AND c.relname = ANY(CAST(:names AS text[]))"
)


def _present(conn: Connection, schema: str, names: Iterable[str]) -> set[str]:
    """Which of ``names`` are relations of ``schema`` (committed, or made in ``conn``)."""
    return set(conn.execute(_PRESENT, {"s": schema, "names": sorted(names)}).scalars())


def lay_out(conn: Connection, schema: str, projectors: Iterable[Projector]) -> None:
    """Make ``schema`` and the tables of ``projectors`` in it (those missing), under
    the schema's advisory lock, in ``conn``'s transaction."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    mapped = conn.execution_options(schema_translate_map={None: schema})
    for projector in projectors:
        projector.metadata.create_all(mapped)
    conn.execution_options(schema_translate_map=None)  # options change in place


def make_schema(engine: Engine, schema: str, projectors: Iterable[Projector]) -> None:
    """:func:`lay_out` in a transaction of its own, unless the tables all exist."""
    wanted = list(projectors)
    names = {table.name for p in wanted for table in p.metadata.tables.values()}
    with engine.begin() as conn:
        if not names <= _present(conn, schema, names):
            lay_out(conn, schema, wanted)


__all__ = ["lay_out", "make_schema"]
