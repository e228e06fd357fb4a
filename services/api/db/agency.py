"""Reads under the caller's own database role: Postgres enforces the isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from projectors.directory.agencies import schema_name
from projectors.directory.roles import access_log_writer, quote_ident
from services.api.auth import Caller
from services.api.db import prepared
from services.api.db.aio import Conn, column_names
from services.api.db.pools import aio_pool, once_more_if_dropped


@contextmanager
def as_agency(reader: Engine, caller: Caller) -> Iterator[Connection]:
    """A read-only transaction as the caller's role, rendering tables into its schema.

    ``SET LOCAL`` ends with the transaction, so a pooled connection never keeps
    the role; the login role itself can read nothing.
    """
    with reader.connect() as conn, conn.begin():
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL ROLE {quote_ident(caller.db_role)}")
        yield conn.execution_options(schema_translate_map={None: schema_name(caller.agency_id)})


async def rows_as_agency(
    reader: Engine, caller: Caller, query: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``query`` (tables named ``{schema}.x``) in one round trip, under the caller's role.

    The same guarantees as :func:`as_agency` (a read-only transaction, ``SET
    LOCAL ROLE`` to the caller's agency role, ended before the connection
    goes back to the pool), sent as one multi-statement message on the event
    loop (:mod:`services.api.db.aio`): the parameters are quoted by psycopg
    on the client (``AsyncClientCursor``), the select runs as a statement
    named on the connection (:mod:`services.api.db.prepared`).
    """
    role = quote_ident(caller.db_role)
    select = query.replace("{schema}", quote_ident(schema_name(caller.agency_id)))

    def message(conn: Conn) -> str:  # the select as a named statement (db.prepared)
        return f"BEGIN READ ONLY; SET LOCAL ROLE {role}; {prepared.execute(conn, select)}; COMMIT"

    return await _message_rows(reader, message, params)


async def _message_rows(
    reader: Engine, message: Callable[[Conn], str], params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of the one statement with columns in the multi-statement message
    ``message`` makes for the pooled connection it runs on (once more on a fresh one if
    it dropped); every statement has answered when this returns, and a failed one is
    rolled back (:func:`services.api.db.prepared.after_failure`)."""

    async def run() -> list[dict[str, Any]]:
        async with aio_pool(reader).connection() as conn:
            try:
                async with psycopg.AsyncClientCursor(conn) as cursor:
                    await cursor.execute(message(conn), params)
                    while (names := column_names(cursor)) is None and cursor.nextset():
                        pass
                    return [
                        dict(zip(names or (), row, strict=True)) for row in await cursor.fetchall()
                    ]
            except Exception as error:
                if not conn.closed:
                    await conn.rollback()  # a failed statement leaves the explicit transaction open
                    await prepared.after_failure(conn, error)
                raise

    return await once_more_if_dropped(run)


@cache
def _writer(database: str) -> str:
    """The quoted name of ``database``'s access-log writer role (made once)."""
    return quote_ident(access_log_writer(database))


#: The transaction-local setting through which the read tells the log which subjects it
#: found: a comma before each row's subject id, in row order (none: an empty id).
_FOUND = "haven.read_subjects"
#: What the select adds to each row: its subject noted after those of the rows before.
_NOTE = (
    f"set_config('{_FOUND}', coalesce(current_setting('{_FOUND}', true), '')"
    " || ',' || coalesce(q.subject_id::text, ''), true)"
)
#: One access-log row per distinct subject noted among the first rows shown, and always.
_LOG_FOUND = (
    "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint)"  # noqa: S608 - fixed
    " SELECT DISTINCT %(haven_agency)s, w.s, %(haven_endpoint)s FROM ("
    f" SELECT t.s FROM unnest(string_to_array(substr(current_setting('{_FOUND}', true), 2), ','))"
    " WITH ORDINALITY AS t(s, n) WHERE t.n <= %(haven_shown)s"
    " UNION ALL SELECT unnest(CAST(%(haven_always)s AS text[]))) AS w(s)"
    " WHERE w.s <> ''"
)


async def read_logged(
    reader: Engine,
    caller: Caller,
    query: str,
    params: Mapping[str, Any],
    endpoint: str,
    *,
    shown: int = 1,
    always: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """``query``'s rows under the caller's role, and the subjects of the first ``shown``
    of them in the access log, in one round trip and one transaction, committed
    before this returns.

    ``query`` (tables named ``{schema}.x``, or already rendered into the
    caller's schema: :func:`select_logged`) selects rows with a
    ``subject_id`` column.  One message: ``BEGIN``; ``SET LOCAL ROLE`` to
    the caller's agency role; the select, which also notes each row's
    subject in a transaction-local setting, in row order; ``SET LOCAL
    ROLE`` to the access-log writer (a role that may only insert access-log
    rows); the insert of one row per distinct subject among the first
    ``shown`` rows and ``always``; ``COMMIT``.  A page selects one row more
    than it shows (to know whether another follows): that row's subject is
    not logged, unless a row shown is about it.  Rows without a subject and
    a read that finds nothing log nothing.  Like :func:`rows_as_agency`,
    the parameters are quoted on the client, and a connection whose
    statement failed is rolled back before it goes back to the pool.
    """
    schema = quote_ident(schema_name(caller.agency_id))
    rendered = query.replace("{schema}", schema)
    select = f"SELECT q.*, {_NOTE} AS haven_found FROM ({rendered}) AS q"  # noqa: S608 - quoted
    role, writer = quote_ident(caller.db_role), _writer(reader.url.database or "")

    def message(conn: Conn) -> str:  # the select and the log as named statements (db.prepared)
        return (
            f"BEGIN; SET LOCAL ROLE {role}; {prepared.execute(conn, select)}; "
            f"SET LOCAL ROLE {writer}; {prepared.execute(conn, _LOG_FOUND)}; COMMIT"
        )

    values = dict(params) | {
        "haven_agency": caller.agency_id,
        "haven_endpoint": endpoint,
        "haven_shown": shown,
        "haven_always": list(always),
    }
    rows = await _message_rows(reader, message, values)
    for row in rows:
        del row["haven_found"]
    return rows


def _compiled(reader: Engine, caller: Caller, query: sa.Select[Any]) -> tuple[str, dict[str, Any]]:
    """``query`` as driver SQL with its tables (named without schema) rendered into the
    caller's schema, and its parameters."""
    compiled = query.compile(
        dialect=reader.dialect,
        schema_translate_map={None: schema_name(caller.agency_id)},
        render_schema_translate=True,
        compile_kwargs={"render_postcompile": True},
    )
    return str(compiled), compiled.params


async def select_as_agency(
    reader: Engine, caller: Caller, query: sa.Select[Any]
) -> list[dict[str, Any]]:
    """A select over the caller's read models (tables without schema) in one round trip.

    The tables are rendered into the caller's schema, and the statement runs
    inside the same read-only, caller-role transaction as
    :func:`rows_as_agency`; the role still decides what can be read.
    """
    return await rows_as_agency(reader, caller, *_compiled(reader, caller, query))


async def select_logged(
    reader: Engine,
    caller: Caller,
    query: sa.Select[Any],
    endpoint: str,
    *,
    shown: int,
    always: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """:func:`read_logged` of a select over the caller's read models (tables without
    schema, rendered into the caller's): its rows, and the subjects of the first
    ``shown`` and ``always`` in the access log, in one round trip."""
    sql, params = _compiled(reader, caller, query)
    return await read_logged(reader, caller, sql, params, endpoint, shown=shown, always=always)
