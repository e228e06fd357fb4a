"""Writes collected row changes with a few set-based statements per table and schema.

Per schema and table: one ``DELETE`` for the rows a batch deleted first,
then one statement per *shape* (which columns are inserted, which updated
how): ``INSERT ... ON CONFLICT DO NOTHING`` for plain inserts, ``UPDATE ...
FROM`` the rows for updates of existing rows only, and for upserts an
``UPDATE`` of the existing rows and an ``INSERT`` of the missing ones in one
statement.  Every statement takes its rows as one JSON parameter (``infra.bulk``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, text

from infra.bulk import Columns, json_rows, rows_param
from infra.db import Numbered, pipelined, write_numbered
from projectors.readmodels.changes import Ops, Pending, RowKey, primary_key
from projectors.readmodels.rendering import DIALECT, SCHEMA, driver_sql, numbered_in, quote
from projectors.readmodels.sdk import Projector

Shape = tuple[tuple[str, ...] | None, tuple[tuple[str, str], ...]]


@cache
def sql_type(table: Table, name: str) -> str:
    """The Postgres type of a column, as ``infra.bulk`` names it."""
    return str(table.c[name].type.compile(dialect=DIALECT)).lower()


def _pk(table: Table) -> tuple[str, ...]:
    return primary_key(table)


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


def _update_shape(sets: dict[str, Any], ops: Ops) -> tuple[tuple[str, str], ...]:
    """Each updated column with its operation's kind (``set`` for ``sets``), by name."""
    return tuple(sorted([*((n, "set") for n in sets), *((n, o.kind) for n, o in ops.items())]))


def _param_values(sets: dict[str, Any], ops: Ops, shape: tuple[tuple[str, str], ...]) -> list[Any]:
    values: list[Any] = []
    for name, kind in shape:
        if kind == "set":
            values.append(sets[name])
            continue
        op = ops[name]
        values.append(op.value)
        if kind == "add":
            values.append(op.floor)
    return values


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
def _statement(schema: str, table: Table, shape: Shape, replace: bool) -> Numbered:
    return numbered_in(_template(table, shape, replace), schema)


@cache
def _template(table: Table, shape: Shape, replace: bool) -> Numbered:
    return Numbered.of(_template_sql(table, shape, replace))


def _template_sql(table: Table, shape: Shape, replace: bool) -> str:
    """Rendered once, then put in each schema (``projectors.readmodels.rendering``)."""
    target = f"{SCHEMA}.{quote(table.name)}"
    pk = _pk(table)
    inserted, update = shape
    columns: Columns = tuple((n, sql_type(table, n)) for n in (inserted or pk))
    source, exprs = json_rows(columns + _params(table, update), sized=True)
    aliased = {name: exprs[i] for i, (name, _) in enumerate(columns)}
    match = " AND ".join(f"t.{quote(n)} = {aliased[n]}" for n in pk)
    sets = f"UPDATE {target} AS t SET {_set_clause(update, exprs[len(columns) :])} FROM {source}"  # noqa: S608
    if inserted is None:
        return driver_sql(text(f"{sets} WHERE {match}"))
    add = f"INSERT INTO {target} ({', '.join(map(quote, inserted))})"
    add += f" SELECT {', '.join(aliased[n] for n in inserted)} FROM {source}"  # noqa: S608
    if replace:
        return driver_sql(text(add))
    if not update:
        return driver_sql(text(f"{add} ON CONFLICT ({', '.join(map(quote, pk))}) DO NOTHING"))
    missing = f"NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})"  # noqa: S608
    return driver_sql(text(f"WITH changed AS ({sets} WHERE {match}) {add} WHERE {missing}"))


def _groups(
    changes: list[tuple[tuple[Any, ...], Pending]],
) -> Iterator[tuple[Shape, bool, list[list[Any]]]]:
    grouped: dict[tuple[Shape, bool], list[list[Any]]] = {}
    # Rows of one handler share their column order: each order is sorted once.
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    kinds: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
    for key, pending in changes:
        row_insert = pending.insert
        if row_insert is None and (pending.deleted or not pending.changes_existing):
            continue
        if row_insert is None:
            inserted, row = None, list(key)
        else:
            given = tuple(row_insert)
            inserted = names.get(given) or names.setdefault(given, tuple(sorted(given)))
            row = [row_insert[n] for n in inserted]
        update: tuple[tuple[str, str], ...] = ()
        if not pending.deleted and pending.changes_existing:
            sets, ops = pending.sets, pending.ops
            shape = (*sets, *((n, o.kind) for n, o in ops.items()))
            update = kinds.get(shape) or kinds.setdefault(shape, _update_shape(sets, ops))
            row += _param_values(sets, ops, update)
        grouped.setdefault(((inserted, update), pending.deleted), []).append(row)
    for (shape_of, replace), rows in grouped.items():
        yield shape_of, replace, rows


def write_changes(
    conn: Connection, store: dict[RowKey, Pending], tables: dict[str, Table]
) -> dict[str, dict[str, set[tuple[Any, ...]]]]:
    """Write and clear ``store``; returns the keys written by schema, then table name."""
    by_table: dict[tuple[str, str], list[tuple[tuple[Any, ...], Pending]]] = {}
    for (schema, name, key), pending in store.items():
        by_table.setdefault((schema, name), []).append((key, pending))
    store.clear()
    written: dict[str, dict[str, set[tuple[Any, ...]]]] = {}
    for (schema, name), changes in sorted(by_table.items()):
        table = tables[name]
        deleted = [key for key, pending in changes if pending.deleted]
        if deleted:
            _delete(conn, schema, table, deleted)
        for shape, replace, rows in _groups(changes):
            write_numbered(conn, _statement(schema, table, shape, replace), _sized(rows))
        written.setdefault(schema, {})[name] = {key for key, _ in changes}
    return written


def _sized(rows: list[list[Any]] | list[tuple[Any, ...]]) -> dict[str, Any]:
    """Every statement here names its rows' count (``infra.bulk.json_rows`` ``sized``)."""
    return rows_param(rows, sized=True)


def _delete(conn: Connection, schema: str, table: Table, keys: list[tuple[Any, ...]]) -> None:
    write_numbered(conn, _delete_statement(schema, table), _sized(keys))


@cache
def _delete_statement(schema: str, table: Table) -> Numbered:
    return numbered_in(_delete_template(table), schema)


@cache
def _delete_template(table: Table) -> Numbered:
    columns: Columns = tuple((n, sql_type(table, n)) for n in _pk(table))
    source, exprs = json_rows(columns, sized=True)
    match = " AND ".join(f"t.{quote(n)} = {e}" for n, e in zip(_pk(table), exprs, strict=True))
    target = f"{SCHEMA}.{quote(table.name)}"
    return Numbered.of(
        driver_sql(text(f"DELETE FROM {target} AS t USING {source} WHERE {match}"))  # noqa: S608
    )


def flush_rows(
    conn: Connection,
    store: dict[RowKey, Pending],
    tables: dict[str, Table],
    projectors: Iterable[Projector],
) -> None:
    """Write ``store`` (:func:`write_changes`), then let each projector refresh each schema,
    all pipelined (writes only)."""
    if not store:
        return
    # Nothing reads the answers: Postgres runs each statement as the next is built,
    # the refreshes (writes too, see ``Projector.refresh``) after the rows they read.
    with pipelined(conn):
        written = write_changes(conn, store, tables)
        for schema, names in written.items():
            mapped = conn.execution_options(schema_translate_map={None: schema})
            for projector in projectors:
                projector.refresh(mapped, names)
