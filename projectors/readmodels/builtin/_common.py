"""Shared helpers of the built-in projectors.

Statements are built once per shape with bind parameters and cached: building
a SQLAlchemy construct per event costs more CPU than running it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Executable, Table
from sqlalchemy.dialects.postgresql import TIMESTAMP, insert

from projectors.readmodels.sdk import EventView

TS = TIMESTAMP(timezone=True)


def visible(event: EventView, *names: str) -> dict[str, Any]:
    """The listed fields the agency may see (hidden ones are left out, never blanked)."""
    return {name: event.get(name) for name in names if event.sees(name)}


def bind(name: str) -> sa.BindParameter[Any]:
    """A bind parameter for column ``name`` (prefixed: SQLAlchemy reserves column names)."""
    return sa.bindparam(f"p_{name}")


def params(values: dict[str, Any]) -> dict[str, Any]:
    """Execution parameters for statements built with :func:`bind`."""
    return {f"p_{name}": value for name, value in values.items()}


_STATEMENTS: dict[Hashable, Executable] = {}


def cached(key: Hashable, build: Callable[[], Executable]) -> Executable:
    """The statement for ``key``, built on first use."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


@cache
def _upsert(table: Table, keys: tuple[str, ...], values: tuple[str, ...]) -> Executable:
    statement = insert(table).values({name: bind(name) for name in keys + values})
    primary_key = [column.name for column in table.primary_key]
    if not values:
        return statement.on_conflict_do_nothing(index_elements=primary_key)
    updates = {name: statement.excluded[name] for name in values}
    return statement.on_conflict_do_update(index_elements=primary_key, set_=updates)


def upsert(conn: Connection, table: Table, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert the row, or update only ``values`` on the existing one."""
    statement = _upsert(table, tuple(sorted(keys)), tuple(sorted(values)))
    conn.execute(statement, params(keys | values))
