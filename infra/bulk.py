"""Many rows in one statement: ``INSERT ... SELECT ... FROM unnest(arrays)``.

The one helper every bulk write uses (engine bookkeeping, audit ledger,
holdings, read-model rows).  Each column is sent as one array parameter;
``jsonb`` and ``text[]`` columns travel as JSON text (an array of arrays
must be rectangular in Postgres, a list of JSON texts need not be) and are
cast row by row.  Rows keep their order (``WITH ORDINALITY``), so serial
columns number them as given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, text

#: Column types sent as JSON text.
JSON_TYPES = frozenset({"jsonb", "text[]"})

Columns = tuple[tuple[str, str], ...]  # (column name, SQL type)


def _value(sql_type: str, value: Any) -> Any:
    if sql_type in JSON_TYPES and value is not None:
        return json.dumps(
            sorted(value) if isinstance(value, frozenset | set) else value, default=str
        )
    return value


def _expression(sql_type: str, alias: str) -> str:
    if sql_type == "jsonb":
        return f"CAST({alias} AS jsonb)"
    if sql_type == "text[]":
        return (
            f"CASE WHEN {alias} IS NULL THEN NULL ELSE"
            f" ARRAY(SELECT jsonb_array_elements_text(CAST({alias} AS jsonb))) END"
        )
    return alias


def unnest_rows(columns: Columns, prefix: str = "u") -> tuple[str, list[str]]:
    """``unnest(...) WITH ORDINALITY AS u(c0, ..., n)`` and the select expression per column.

    Parameters are named ``{prefix}0``, ``{prefix}1``...; bind them with :func:`arrays`.
    """
    casts, aliases, expressions = [], [], []
    for index, (_, sql_type) in enumerate(columns):
        array_type = "text" if sql_type in JSON_TYPES else sql_type
        casts.append(f"CAST(:{prefix}{index} AS {array_type}[])")
        aliases.append(f"c{index}")
        expressions.append(_expression(sql_type, f"{prefix}.c{index}"))
    source = f"unnest({', '.join(casts)}) WITH ORDINALITY AS {prefix}({', '.join(aliases)}, n)"
    return source, expressions


def arrays(columns: Columns, rows: Sequence[Sequence[Any]], prefix: str = "u") -> dict[str, Any]:
    """The array parameters of :func:`unnest_rows` for ``rows`` (one value per column)."""
    return {
        f"{prefix}{index}": [_value(sql_type, row[index]) for row in rows]
        for index, (_, sql_type) in enumerate(columns)
    }


@cache
def _insert(table: str, columns: Columns, tail: str) -> TextClause:
    source, expressions = unnest_rows(columns)
    names = ", ".join(name for name, _ in columns)
    return text(
        f"INSERT INTO {table} ({names}) SELECT {', '.join(expressions)}"  # noqa: S608 - fixed names
        f" FROM {source} ORDER BY u.n {tail}"
    )


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Columns,
    rows: Sequence[Sequence[Any]],
    tail: str = "",
) -> None:
    """Insert ``rows`` into ``table`` with one statement; ``tail``: e.g. ``ON CONFLICT ...``."""
    if rows:
        conn.execute(_insert(table, columns, tail), arrays(columns, rows))
