"""The read-model writer's statements for one table and *shape* of change, rendered once.

A shape is which columns a change inserts and which it updates how.  Per
table and shape: ``INSERT ... ON CONFLICT DO NOTHING`` for plain inserts,
``UPDATE ... FROM`` the rows for updates of existing rows only, for upserts
an ``UPDATE`` of the existing rows and an ``INSERT`` of the missing ones in
one snapshot, and per table one ``DELETE``.  Each takes its rows as one JSON
parameter (``infra.bulk``) with their count.  Rendered with :data:`SCHEMA`
for the schema, then put in one schema (:func:`statement`) or, as
:class:`~projectors.readmodels.merging.Parts`, in many at once.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Table, text

from infra.bulk import Columns, json_rows
from infra.db import Numbered
from projectors.readmodels.changes import primary_key
from projectors.readmodels.merging import Parts
from projectors.readmodels.rendering import DIALECT, SCHEMA, driver_sql, numbered_in, quote

Shape = tuple[tuple[str, ...] | None, tuple[tuple[str, str], ...]]


@cache
def sql_type(table: Table, name: str) -> str:
    """The Postgres type of a column, as ``infra.bulk`` names it."""
    return str(table.c[name].type.compile(dialect=DIALECT)).lower()


def _params(table: Table, update: tuple[tuple[str, str], ...]) -> Columns:
    """The array columns carrying the update ops' values (``add`` also its floor)."""
    columns: list[tuple[str, str]] = []
    for name, kind in update:
        if kind == "clear_if":
            columns.append((name, "text[]"))
        else:
            columns.append((name, sql_type(table, name)))
        if kind == "add":
            columns.append((name, "bigint"))
    return tuple(columns)


def _set_clause(update: tuple[tuple[str, str], ...], exprs: list[str]) -> str:
    """``col = ...`` per update op; ``exprs`` are the op parameters' select expressions."""
    sets, index = [], 0
    for name, kind in update:
        old, value = f"t.{quote(name)}", exprs[index]
        floor = exprs[index + 1] if kind == "add" else ""
        expression = {
            "set": value,
            "greatest": f"greatest({old}, {value})",
            "least": f"least({old}, {value})",
            "add": f"greatest(coalesce({old}, 0) + {value}, {floor})",
            "clear_if": f"CASE WHEN {old} = ANY({value}) THEN NULL ELSE {old} END",
        }[kind]
        index += 2 if kind == "add" else 1
        sets.append(f"{quote(name)} = {expression}")
    return ", ".join(sets)


@cache
def statement(schema: str, table: Table, shape: Shape, replace: bool) -> Numbered:
    return numbered_in(_template(table, shape, replace), schema)


@cache
def _template(table: Table, shape: Shape, replace: bool) -> Numbered:
    return Numbered.of(_joined(_template_parts(table, shape, replace)))


@cache
def parts(table: Table, shape: Shape, replace: bool) -> Parts:
    return Parts.of(_template_parts(table, shape, replace))


def _joined(parts: tuple[str, ...]) -> str:
    """An ``UPDATE`` and an ``INSERT`` as one statement (one snapshot: the insert
    takes the rows the update found none for)."""
    return parts[0] if len(parts) == 1 else f"WITH changed AS ({parts[0]}) {parts[1]}"


@cache
def _template_parts(table: Table, shape: Shape, replace: bool) -> tuple[str, ...]:
    """Rendered once, then put in each schema (``projectors.readmodels.rendering``)."""
    target = f"{SCHEMA}.{quote(table.name)}"
    pk = primary_key(table)
    inserted, update = shape
    columns: Columns = tuple((n, sql_type(table, n)) for n in (inserted or pk))
    source, exprs = json_rows(columns + _params(table, update), sized=True)
    aliased = {name: exprs[i] for i, (name, _) in enumerate(columns)}
    match = " AND ".join(f"t.{quote(n)} = {aliased[n]}" for n in pk)
    sets = f"UPDATE {target} AS t SET {_set_clause(update, exprs[len(columns) :])} FROM {source}"  # noqa: S608
    if inserted is None:
        return (driver_sql(text(f"{sets} WHERE {match}")),)
    add = f"INSERT INTO {target} ({', '.join(map(quote, inserted))})"
    add += f" SELECT {', '.join(aliased[n] for n in inserted)} FROM {source}"  # noqa: S608
    if replace:
        return (driver_sql(text(add)),)
    if not update:
        return (driver_sql(text(f"{add} ON CONFLICT ({', '.join(map(quote, pk))}) DO NOTHING")),)
    missing = f"NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})"  # noqa: S608
    return driver_sql(text(f"{sets} WHERE {match}")), driver_sql(text(f"{add} WHERE {missing}"))


@cache
def delete_statement(schema: str, table: Table) -> Numbered:
    return numbered_in(Numbered.of(_delete_parts_sql(table)), schema)


@cache
def delete_parts(table: Table) -> Parts:
    return Parts.of((_delete_parts_sql(table),))


@cache
def _delete_parts_sql(table: Table) -> str:
    columns: Columns = tuple((n, sql_type(table, n)) for n in primary_key(table))
    source, exprs = json_rows(columns, sized=True)
    match = " AND ".join(
        f"t.{quote(n)} = {e}" for n, e in zip(primary_key(table), exprs, strict=True)
    )
    target = f"{SCHEMA}.{quote(table.name)}"
    return driver_sql(text(f"DELETE FROM {target} AS t USING {source} WHERE {match}"))  # noqa: S608


__all__ = ["Shape", "delete_parts", "delete_statement", "parts", "sql_type", "statement"]
