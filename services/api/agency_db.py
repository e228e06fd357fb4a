"""Reads under the caller's own database role: Postgres enforces the isolation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from projectors.directory.agencies import schema_name
from projectors.directory.roles import quote_ident
from services.api.auth import Caller


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
