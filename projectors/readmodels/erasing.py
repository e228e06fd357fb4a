"""A subject's rows in one schema, erased or counted for many projectors in one statement.

Projectors that keep the default :meth:`Projector.erase` and
:meth:`Projector.count` are served by one statement over all their tables
with a ``subject_id`` column (``DELETE ... RETURNING`` in one CTE per
table); a projector with its own ``erase`` or ``count`` runs it as before.
Rows collected right after an erasure are counted in memory
(:func:`settle_erased`), without writing them first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Select, Table

from infra.db import Statement
from projectors.readmodels.changes import Pending, RowKey
from projectors.readmodels.rendering import rendered
from projectors.readmodels.sdk import Projector

Tables = tuple[tuple[str, Table], ...]  # (projector name, table)


def _tables(projectors: Sequence[Projector]) -> Tables:
    return tuple((p.name, t) for p in projectors for t in p.subject_tables())


@cache
def _erase(tables: Tables) -> Select[Any]:
    subject = sa.bindparam("subject_id", type_=sa.Text)
    ctes = [
        sa.delete(t).where(t.c.subject_id == subject).returning(t.c.subject_id).cte(f"d{i}")
        for i, (_, t) in enumerate(tables)
    ]
    return sa.select(*(sa.select(sa.func.count()).select_from(c).scalar_subquery() for c in ctes))


@cache
def _erase_keys(tables: Tables) -> Select[Any]:
    subject = sa.bindparam("subject_id", type_=sa.Text)
    ctes = [
        sa.delete(t).where(t.c.subject_id == subject).returning(*t.primary_key).cte(f"d{i}")
        for i, (_, t) in enumerate(tables)
    ]
    empty: sa.ColumnElement[Any] = sa.literal_column("'[]'::json")
    return sa.select(
        *(
            sa.select(sa.func.coalesce(sa.func.json_agg(sa.func.json_build_array(*c.c)), empty))
            .select_from(c)
            .scalar_subquery()
            for c in ctes
        )
    )


def erase_keys(
    conn: Connection, projectors: Sequence[Projector], subject_id: str
) -> dict[str, set[tuple[Any, ...]]]:
    """Delete every row about the subject (projectors that keep the default ``erase``
    and text primary keys); the primary keys deleted, by table name."""
    tables = _tables(projectors)
    if not tables:
        return {}
    row = conn.execute(_erase_keys(tables), {"subject_id": subject_id}).one()
    return {t.name: {tuple(key) for key in keys} for (_, t), keys in zip(tables, row, strict=True)}


def erase_statement(
    schema: str, projectors: Sequence[Projector], subject_id: str, *, keys: bool
) -> Statement | None:
    """What :func:`erase_keys` (``keys``) or :func:`erase_rows` (projectors that keep
    the default ``erase``) run in ``schema``, to send with other statements
    (``infra.db.read_together``); None when the projectors have no subject tables.
    :func:`erased_from` reads its answer."""
    tables = _tables(projectors)
    if not tables:
        return None
    statement = (_erase_keys if keys else _erase)(tables)
    return rendered(statement, schema), {"subject_id": subject_id}


def erased_from(
    projectors: Sequence[Projector], rows: list[tuple[Any, ...]], *, keys: bool
) -> dict[str, Any]:
    """The answer of :func:`erase_statement`: by table name the primary keys deleted
    (``keys``), else by projector name the rows deleted."""
    tables = _tables(projectors)
    (row,) = rows
    if keys:
        pairs = zip(tables, row, strict=True)
        return {t.name: {tuple(k) for k in found} for (_, t), found in pairs}
    counts = dict.fromkeys((p.name for p in projectors), 0)
    for (name, _), n in zip(tables, row, strict=True):
        counts[name] += int(n)
    return counts


def text_keys(table: Table) -> bool:
    """Whether the table's primary key is text only (as :func:`erase_keys` needs)."""
    return all(isinstance(column.type, sa.String) for column in table.primary_key)


@cache
def _count(tables: Tables) -> Select[Any]:
    subject = sa.bindparam("subject_id", type_=sa.Text)
    return sa.select(
        *(
            sa.select(sa.func.count())
            .select_from(t)
            .where(t.c.subject_id == subject)
            .scalar_subquery()
            for _, t in tables
        )
    )


def _rows(
    conn: Connection, projectors: Sequence[Projector], subject_id: str, method: str
) -> dict[str, int]:
    """Run ``method`` (``erase`` or ``count``) of each projector: one statement for the
    projectors that keep the default, their own method for the others."""
    default = getattr(Projector, method)
    plain = [p for p in projectors if getattr(type(p), method) is default]
    counts = dict.fromkeys((p.name for p in projectors), 0)
    tables = _tables(plain)
    if tables:
        statement = (_erase if method == "erase" else _count)(tables)
        row: tuple[Any, ...] = tuple(conn.execute(statement, {"subject_id": subject_id}).one())
        for (name, _), n in zip(tables, row, strict=True):
            counts[name] += int(n)
    for projector in projectors:
        if projector not in plain:
            counts[projector.name] = getattr(projector, method)(conn, subject_id)
    return counts


def erase_rows(
    conn: Connection, projectors: Sequence[Projector], subject_id: str
) -> dict[str, int]:
    """Delete every row about the subject; rows deleted per projector name."""
    return _rows(conn, projectors, subject_id, "erase")


def count_rows(
    conn: Connection, projectors: Sequence[Projector], subject_id: str
) -> dict[str, int]:
    """Rows about the subject per projector name."""
    return _rows(conn, projectors, subject_id, "count")


def about(table: Table, key: tuple[Any, ...], change: Pending) -> Any:
    """The subject of a collected row: from the row, else from its key (None: unknown)."""
    if change.insert is not None:
        return change.insert.get("subject_id")
    names = [c.name for c in table.primary_key]
    return key[names.index("subject_id")] if "subject_id" in names else None


def settle_erased(
    store: dict[RowKey, Pending], projectors: Sequence[Projector], subject_id: str
) -> dict[str, int] | None:
    """Rows about the subject that ``store`` (changes of one schema, collected just after
    :func:`erase_rows` there) will leave, per projector name; None when not known.

    The erasure left no row about the subject in the projectors' tables, so
    each collected row is written whole (marked deleted first) and a change
    to an absent row that writes none is dropped.  Not known (``store``
    untouched): a projector erases or counts its own way, or a change in
    those tables is not about the subject.  ``refresh`` only recomputes
    columns, never adds rows.
    """
    if any(p.own_erasure() for p in projectors):
        return None
    owner = {table.name: (p.name, table) for p in projectors for table in p.subject_tables()}
    mine = [(key, change) for key, change in store.items() if key[1] in owner]
    if any(about(owner[key[1]][1], key[2], change) != subject_id for key, change in mine):
        return None
    counts = dict.fromkeys((p.name for p in projectors), 0)
    for key, change in mine:
        if change.insert is None:
            del store[key]
            continue
        change.deleted, change.sets, change.ops = True, {}, {}
        counts[owner[key[1]][0]] += 1
    return counts
