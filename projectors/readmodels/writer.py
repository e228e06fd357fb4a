"""Writes collected row changes with a few set-based statements per table and schema.

Per table: one ``DELETE`` per schema for the rows a batch deleted, first,
then one statement per schema and *shape* of change
(``projectors.readmodels.statements``); a write to many schemas goes as one
statement (``projectors.readmodels.merging``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table

from infra.bulk import rows_param
from infra.db import Numbered, pipelined, write_numbered
from projectors.readmodels.changes import ColumnOp, Pending, RowKey
from projectors.readmodels.merging import MERGE_FROM, Parts, write_merged
from projectors.readmodels.sdk import Projector
from projectors.readmodels.statements import (
    Shape,
    delete_parts,
    delete_statement,
    parts,
    statement,
)


def _param_values(update: dict[str, ColumnOp], shape: tuple[tuple[str, str], ...]) -> list[Any]:
    values: list[Any] = []
    for name, kind in shape:
        op = update[name]
        values.append(op.value)
        if kind == "add":
            values.append(op.floor)
    return values


def _groups(
    changes: list[tuple[tuple[Any, ...], Pending]],
) -> Iterator[tuple[Shape, bool, list[list[Any]]]]:
    grouped: dict[tuple[Shape, bool], list[list[Any]]] = {}
    # Rows of one handler share their column order: each order is sorted once.
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    kinds: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
    for key, pending in changes:
        row_insert = pending.insert
        if row_insert is None and (pending.deleted or not pending.update):
            continue
        if row_insert is None:
            inserted, row = None, list(key)
        else:
            given = tuple(row_insert)
            inserted = names.get(given) or names.setdefault(given, tuple(sorted(given)))
            row = [row_insert[n] for n in inserted]
        ops = {} if pending.deleted else pending.update
        update: tuple[tuple[str, str], ...] = ()
        if ops:
            shape = tuple((n, o.kind) for n, o in ops.items())
            update = kinds.get(shape) or kinds.setdefault(shape, tuple(sorted(shape)))
            row += _param_values(ops, update)
        grouped.setdefault(((inserted, update), pending.deleted), []).append(row)
    for (shape_of, replace), rows in grouped.items():
        yield shape_of, replace, rows


def write_changes(
    conn: Connection, store: dict[RowKey, Pending], tables: dict[str, Table]
) -> dict[str, dict[str, set[tuple[Any, ...]]]]:
    """Write and clear ``store``; returns the keys written by schema, then table name.

    Per table, its deletes in every schema first, then each shape's writes in
    every schema; the copies of one write to many schemas go as one statement
    (``projectors.readmodels.merging``).
    """
    by_table: dict[str, dict[str, list[tuple[tuple[Any, ...], Pending]]]] = {}
    for (schema, name, key), pending in store.items():
        by_table.setdefault(name, {}).setdefault(schema, []).append((key, pending))
    store.clear()
    written: dict[str, dict[str, set[tuple[Any, ...]]]] = {}
    for name, schemas in sorted(by_table.items()):
        table = tables[name]
        deletes: list[tuple[str, dict[str, Any]]] = []
        shapes: dict[tuple[Shape, bool], list[tuple[str, dict[str, Any]]]] = {}
        for schema, changes in sorted(schemas.items()):
            deleted = [key for key, pending in changes if pending.deleted]
            if deleted:
                deletes.append((schema, _sized(deleted)))
            for shape, replace, rows in _groups(changes):
                shapes.setdefault((shape, replace), []).append((schema, _sized(rows)))
            written.setdefault(schema, {})[name] = {key for key, _ in changes}
        if deletes:
            _write(conn, deletes, delete_parts(table), partial(delete_statement, table=table))
        for (shape, replace), writes in shapes.items():
            one = partial(statement, table=table, shape=shape, replace=replace)
            _write(conn, writes, parts(table, shape, replace), one)
    return written


def _write(
    conn: Connection,
    writes: list[tuple[str, dict[str, Any]]],
    parts: Parts,
    statement: Callable[..., Numbered],
) -> None:
    """One statement per schema, or (:data:`MERGE_FROM` schemas or more) merged."""
    if len(writes) >= MERGE_FROM and write_merged(conn, parts, writes):
        return
    for schema, params in writes:
        write_numbered(conn, statement(schema=schema), params)


def _sized(rows: list[list[Any]] | list[tuple[Any, ...]]) -> dict[str, Any]:
    """Every statement here names its rows' count (``infra.bulk.json_rows`` ``sized``)."""
    return rows_param(rows, sized=True)


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
