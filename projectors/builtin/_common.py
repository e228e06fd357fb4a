"""Shared helpers of the built-in projectors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import TIMESTAMP, insert

from projectors.sdk import EventView

TS = TIMESTAMP(timezone=True)


def visible(event: EventView, *names: str) -> dict[str, Any]:
    """The listed fields the agency may see (hidden ones are left out, never blanked)."""
    return {name: event.get(name) for name in names if event.sees(name)}


def upsert(conn: Connection, table: Table, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert the row, or update only ``values`` on the existing one."""
    statement = insert(table).values(**keys, **values)
    primary_key = [column.name for column in table.primary_key]
    if values:
        updates = {name: statement.excluded[name] for name in values}
        statement = statement.on_conflict_do_update(index_elements=primary_key, set_=updates)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=primary_key)
    conn.execute(statement)
