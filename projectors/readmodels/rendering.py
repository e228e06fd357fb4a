"""Read-model statements rendered once, as the driver takes them, then put in each schema.

The engine writes one schema per agency.  SQLAlchemy renders a statement's
schema at each execution and keeps 500 compiled statements, fewer than the
statements of a few hundred agencies, so at that scale it compiled them again
and again (a fifth of the engine's time at 600 agencies).  The read-model
writer's statements and the projectors' ``refresh`` statements are therefore
rendered once, with :data:`SCHEMA` standing for the schema, and each schema's
copy is that text with the schema's quoted name in its place
(:func:`numbered_in`), its parameters numbered once (``infra.db.Numbered``).
One copy per statement and schema is kept: its ``%(name)s`` text
(:func:`rendered`) and its numbered form are the same object's.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import ClauseElement

from infra.db import Numbered, write_numbered

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
#: Stands for the schema in a rendered statement (``SCHEMA.table``).
SCHEMA = "__haven_schema__"


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def driver_sql(statement: ClauseElement) -> str:
    """``statement`` as the driver takes it; Core tables without a schema are
    rendered in :data:`SCHEMA`."""
    compiled = statement.compile(
        dialect=DIALECT, schema_translate_map={None: SCHEMA}, render_schema_translate=True
    )
    return str(compiled)


def rendered(statement: ClauseElement, schema: str) -> str:
    """A module-level Core ``statement`` as the driver takes it (``%(name)s``), in
    ``schema``: the text of the one copy per schema kept for the process's life."""
    return _numbered(statement, schema).sql


def numbered_in(template: Numbered, schema: str) -> Numbered:
    """A numbered template (tables in :data:`SCHEMA`) with its tables in ``schema``:
    the parameters are numbered once per template, not once per schema."""
    return template.replaced(f"{SCHEMA}.", f"{quote(schema)}.")


@cache
def _numbered(statement: ClauseElement, schema: str) -> Numbered:
    return numbered_in(_numbered_template(statement), schema)


@cache
def _numbered_template(statement: ClauseElement) -> Numbered:
    return Numbered.of(driver_sql(statement))


def run_in_schema(conn: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> None:
    """Run a Core write statement (its result is not read) in the schema ``conn``
    renders into (its ``schema_translate_map``), rendered once.

    Parameters go to the driver as given (no SQLAlchemy type processing).
    For module-level statements only: each one is kept for the process's life.
    """
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    if schema is None:
        conn.execute(statement, dict(params))  # type: ignore[call-overload]
    else:
        write_numbered(conn, _numbered(statement, schema), params)


__all__ = [
    "DIALECT",
    "SCHEMA",
    "driver_sql",
    "numbered_in",
    "quote",
    "rendered",
    "run_in_schema",
]
