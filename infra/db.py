"""SQLAlchemy engines, created on demand from a URL (never at import time).

Haven's database work is blocking SQLAlchemy Core; code inside the Faust
event loop runs it in a thread (``asyncio.to_thread``), batched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from sqlalchemy import Connection, Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError

from infra import pipeline_flush

#: The session setting of :func:`sync_engine` ``generic_plans``.
GENERIC_PLANS: Final = "-c plan_cache_mode=force_generic_plan"


def sync_engine(
    database_url: str, *, pool_size: int = 5, pre_ping: bool = True, generic_plans: bool = False
) -> Engine:
    """A psycopg 3 engine with a small pool.

    ``pre_ping`` checks every connection with a round trip when it leaves the
    pool; without it (the API's hot path) connections are recycled after five
    minutes and the caller retries once on a dropped connection instead.

    ``generic_plans``: the sessions plan each prepared statement once, for any
    parameters (``plan_cache_mode``), instead of again at many executions when
    the parameters change the estimate (the engine's: docs/engine.md).

    The process's psycopg pipelines are mended here, once, before any engine
    can open one (:mod:`infra.pipeline_flush`).
    """
    pipeline_flush.install()
    options = _generic_plans(database_url) if generic_plans else {}
    if pre_ping:
        return create_engine(database_url, pool_size=pool_size, pool_pre_ping=True, **options)
    return create_engine(database_url, pool_size=pool_size, pool_recycle=300, **options)


def _generic_plans(database_url: str) -> dict[str, Any]:
    """``create_engine`` arguments that add :data:`GENERIC_PLANS` to the sessions'
    options, after any the URL gives (the driver's argument would replace them)."""
    given = make_url(database_url).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    return {"connect_args": {"options": f"{given} {GENERIC_PLANS}".strip()}}


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Writes whose results nobody reads, sent without waiting for each answer.

    psycopg's pipeline mode: inside the block each statement goes out at
    once and Postgres runs it while the caller builds the next, instead of
    the caller waiting a round trip and the statement's run each time.  The
    answers are read when the block ends, or earlier when a result is asked
    for; an error surfaces then, at the latest when the block ends, as the
    same SQLAlchemy error it would have been (a lost connection is an
    ``OperationalError``), and fails the transaction as it would have
    anyway.  Blocks may nest (psycopg's send loop is mended for that by
    :func:`sync_engine`: :mod:`infra.pipeline_flush`).

    Writes only: SQLAlchemy looks at a statement's answer as soon as it is
    sent, before it has arrived, so a ``SELECT`` (or ``RETURNING``) inside
    the block gets a result without rows and raises when read.
    """
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        yield  # another driver: one statement at a time
        return
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:  # raised by an answer read when the block ends
        raise DBAPIError.instance(
            "(pipelined statements)", None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc


Statement = tuple[str, dict[str, Any]]  # driver SQL (``%(name)s`` parameters), parameters


def read_together(conn: Connection, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, every statement sent in one round trip.

    Reads that do not depend on each other's answers (the start of an engine
    batch, say) otherwise wait a round trip each, and under load each wait
    is a busy Postgres's to schedule.  With psycopg they go out in one
    pipeline, run in order in the connection's transaction, and are read
    once all have answered; a failure raises as :func:`pipelined` does.
    With another driver they run one after the other.
    """
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        return [[tuple(r) for r in conn.exec_driver_sql(sql, params)] for sql, params in statements]
    try:
        with driver.pipeline():
            cursors = [driver.cursor() for _ in statements]
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
        return [cursor.fetchall() for cursor in cursors]
    except psycopg.Error as exc:
        raise DBAPIError.instance(
            "(statements read together)", None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc


#: A ``%(name)s`` parameter, an escaped ``%``, or a stray ``%``.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")
_RAW_CURSOR = "haven.raw_cursor"


@dataclass(frozen=True, slots=True)
class Numbered:
    """Driver SQL whose ``%(name)s`` parameters are numbered once (``$1``, ``$2``...).

    psycopg turns ``%(name)s`` into ``$n`` at every execution and keeps the last
    128 conversions of statements up to 4 KiB: the read-model writer's
    statements, one set per agency schema, are more and longer than that, so
    most executions converted their text again (3.7 % of the engines' samples
    at 600 agencies).  Made once per statement and kept with it.
    """

    sql: str  # as any DB-API driver takes it (``%(name)s``)
    numbered: bytes  # the same with ``$n``, for psycopg's ``RawCursor``
    names: tuple[str, ...]  # the parameter of each ``$n``, in order

    @classmethod
    def of(cls, sql: str) -> Numbered:
        """``sql`` with its parameters numbered in order of first use; a ``%`` that is
        neither a parameter nor escaped (``%%``) is refused."""
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                if match.group(0) != "%%":
                    raise ValueError(f"a stray % in {sql[:80]!r}")
                return "%"
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        return cls(sql, _PLACEHOLDER.sub(number, sql).encode(), tuple(names))

    def replaced(self, old: str, new: str) -> Numbered:
        """The same statement with the text ``old`` put as ``new`` in both forms (a
        name, never a parameter: the numbering stays as it is)."""
        return Numbered(
            self.sql.replace(old, new),
            self.numbered.replace(old.encode(), new.encode()),
            self.names,
        )


def write_numbered(conn: Connection, statement: Numbered, params: Mapping[str, Any]) -> None:
    """Run a write whose result nobody reads in ``conn``'s transaction (and pipeline).

    With psycopg it goes through a ``RawCursor`` kept with the connection: no
    placeholder conversion, no SQLAlchemy execution context; a failure raises
    as the same SQLAlchemy error ``exec_driver_sql`` would have raised.  With
    another driver, ``exec_driver_sql``.
    """
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        conn.exec_driver_sql(statement.sql, dict(params))
        return
    cursor = conn.info.get(_RAW_CURSOR)
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = conn.info[_RAW_CURSOR] = psycopg.RawCursor(driver)
    try:
        cursor.execute(statement.numbered, [params[name] for name in statement.names])
    except psycopg.Error as exc:
        raise DBAPIError.instance(
            statement.sql, None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc
