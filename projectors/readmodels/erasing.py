"""A subject's rows in one schema, erased or counted for many projectors in one statement.

Projectors that keep the default :meth:`Projector.erase` and
:meth:`Projector.count` are served by one statement over all their tables
with a ``subject_id`` column (``DELETE ... RETURNING`` in one CTE per
table); a projector with its own ``erase`` or ``count`` runs it as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Select, Table

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
