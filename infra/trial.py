"""Writes tried in a savepoint and rolled back, without losing the prepared statements.

The engine tries the row changes a grant, withdrawal or rectification
dropped in a savepoint it rolls back at once, so that a value Postgres
refuses fails the batch as if it had been written (projectors/engine/batch.py).
psycopg forgets every prepared statement of its connection (and deallocates
them in Postgres) at any rollback it runs or sees, a savepoint's included:
the rolled-back work might have dropped what they name.  Most engine batches
hold a grant, so the engine's sessions prepared almost nothing, and at 600
agencies parsing and planning the writes took two fifths of Postgres's time.
The tried writes create and drop nothing, so :func:`rolled_back` makes and
rolls back its savepoint through libpq, out of psycopg's sight, and the
prepared statements stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["rolled_back"]

_SAVEPOINT = b"SAVEPOINT haven_trial"
_ROLLBACK = b"ROLLBACK TO SAVEPOINT haven_trial; RELEASE SAVEPOINT haven_trial"


@contextmanager
def rolled_back(conn: Connection) -> Iterator[None]:
    """Run the block's statements in a savepoint rolled back when it ends, the
    connection's transaction and prepared statements kept; an error in the block
    rolls back the savepoint too and is raised.

    With another driver than psycopg, or inside a pipeline, SQLAlchemy's savepoint.
    """
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection) or driver.pgconn.pipeline_status:
        with conn.begin_nested() as nested:
            yield
            nested.rollback()
        return
    _command(conn, driver, _SAVEPOINT)
    try:
        yield
    except BaseException:
        with suppress(DBAPIError):  # the block's error is the one to raise
            _command(conn, driver, _ROLLBACK)
        raise
    _command(conn, driver, _ROLLBACK)


def _command(conn: Connection, driver: psycopg.Connection, command: bytes) -> None:
    """Run ``command`` through libpq; a failure raises as SQLAlchemy's error would."""
    result = driver.pgconn.exec_(command)
    if result.status != pq.ExecStatus.COMMAND_OK:
        exc = error_from_result(result, encoding=driver.info.encoding)
        raise DBAPIError.instance(
            command.decode(), None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc
