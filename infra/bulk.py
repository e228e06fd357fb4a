"""Many rows in one statement: ``INSERT ... SELECT ... FROM`` one JSON array of rows.

The one helper every bulk write uses (engine bookkeeping, audit ledger,
holdings, read-model rows; the log archive, mostly large byte strings, goes
as binary arrays instead: ``projectors.audit.ledger``).  The rows travel as
one parameter, a JSON array of arrays (encoded in C by ``orjson``; adapting
Python lists to Postgres arrays element by element costs far more), and
Postgres takes them apart with ``jsonb_array_elements``: each column is read
from its position and cast to its type (``jsonb`` columns keep the nested value, ``text[]``
columns a JSON list, ``bytea`` columns travel as hex).  Rows keep their
order (``WITH ORDINALITY``), so serial columns number them as given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, TextClause, text

Columns = tuple[tuple[str, str], ...]  # (column name, SQL type)


def _encode(value: Any) -> Any:
    """JSON for what ``json`` cannot encode: bytes as hex, sets sorted, the rest as text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return str(value)  # datetimes, dates, decimals: their ISO or plain text


def _expression(sql_type: str, row: str, index: int) -> str:
    """Column ``index`` of the JSON row ``row`` as a value of ``sql_type``."""
    element, as_text = f"{row}->{index}", f"({row}->>{index})"
    if sql_type == "jsonb":
        return f"NULLIF({element}, 'null'::jsonb)"
    if sql_type == "text[]":
        return (
            f"CASE WHEN jsonb_typeof({element}) = 'array' THEN"
            f" ARRAY(SELECT jsonb_array_elements_text({element})) END"
        )
    if sql_type == "bytea":
        return f"decode({as_text}, 'hex')"
    return as_text if sql_type == "text" else f"CAST({as_text} AS {sql_type})"


def json_rows(columns: Columns, prefix: str = "u", *, sized: bool = False) -> tuple[str, list[str]]:
    """``jsonb_array_elements(...) WITH ORDINALITY AS u(v, n)`` and each column's expression.

    The parameter is named ``{prefix}``; bind it with :func:`rows_param`.

    ``sized``: the rows are joined to a table (an update or delete by key).
    Postgres guesses 100 rows for any ``jsonb_array_elements``, and for that
    many it scans a table of a few thousand rows whole and hashes the rows,
    dead versions included, for every statement, whatever the batch; the
    source then ends in ``LIMIT`` the row count (``rows_param(..., sized=True)``),
    so a small batch is joined through the table's key index.
    """
    source = f"jsonb_array_elements(CAST(:{prefix} AS jsonb)) WITH ORDINALITY AS {prefix}(v, n)"
    if sized:
        source = f"(SELECT * FROM {source} LIMIT :{prefix}_n) AS {prefix}"  # noqa: S608
    expressions = [
        _expression(sql_type, f"{prefix}.v", index) for index, (_, sql_type) in enumerate(columns)
    ]
    return source, expressions


def rows_param(
    rows: Sequence[Sequence[Any]], prefix: str = "u", *, sized: bool = False
) -> dict[str, Any]:
    """The parameter of :func:`json_rows` for ``rows`` (one value per column, any type);
    ``sized``, with their count as :func:`json_rows` ``sized`` needs it.

    Encoded by orjson (several times faster); what it refuses (an integer
    beyond 64 bits) by the standard library.
    """
    try:
        encoded = orjson.dumps(rows, default=_encode, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        encoded = json.dumps(rows, default=_encode, separators=(",", ":"))
    return {prefix: encoded, f"{prefix}_n": len(rows)} if sized else {prefix: encoded}


@cache
def _insert(table: str, columns: Columns, tail: str) -> TextClause:
    source, expressions = json_rows(columns)
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
        conn.execute(_insert(table, columns, tail), rows_param(rows))
