"""Many rows in one statement: ``INSERT ... SELECT ... FROM`` one JSON array of rows.

The one helper every bulk write uses (engine bookkeeping, audit ledger,
holdings, read-model rows; the log archive, mostly large byte strings, goes
as binary arrays instead: ``projectors.audit.ledger``).  The rows travel as
one parameter, a JSON array of arrays (encoded in C by ``orjson``; adapting
Python lists to Postgres arrays element by element costs far more), and
Postgres takes them apart with ``jsonb_array_elements``: each column is read
from its position and cast to its type (``jsonb`` columns keep the nested value, ``text[]``
columns a Postgres array literal made by :func:`text_array` or a JSON list, ``bytea``
columns travel as hex).  Rows keep their
order (``WITH ORDINALITY``), so serial columns number them as given.

Inside :func:`deferring`, the inserts a connection is given are held back
instead and made together when the caller says: rows of the same table,
columns and tail join one statement.  The engine uses it for the closing
writes of several partitions' batches in one transaction, which nothing
reads before they are made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
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
        # An array literal is cast; a JSON list is taken apart (a subquery per row).
        return (
            f"CASE jsonb_typeof({element}) WHEN 'string' THEN CAST({as_text} AS text[])"
            f" WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text({element})) END"
        )
    if sql_type == "bytea":
        return f"decode({as_text}, 'hex')"
    return as_text if sql_type == "text" else f"CAST({as_text} AS {sql_type})"


@lru_cache(maxsize=4096)
def text_array(values: frozenset[str] | tuple[str, ...]) -> str:
    """``values`` as a Postgres array literal, the value of a ``text[]`` column that
    Postgres casts instead of taking a JSON list apart with a subquery for each row
    (a quarter of a holdings insert's time); a set's values sorted, a tuple's in order.

    Cached: a batch's rows share few sets of fields, bases or recipients.
    """
    ordered = sorted(values) if isinstance(values, frozenset) else values
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in ordered)
    return "{" + ",".join(quoted) + "}"


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
    """Insert ``rows`` into ``table`` with one statement; ``tail``: e.g. ``ON CONFLICT ...``.

    Inside :func:`deferring` on ``conn``, the rows wait for :meth:`DeferredInserts.write`.
    """
    if not rows:
        return
    deferred = conn.info.get(_DEFERRED)
    if deferred is not None:
        deferred.add(table, columns, rows, tail)
        return
    conn.execute(_insert(table, columns, tail), rows_param(rows))


_DEFERRED = "haven.deferred_inserts"


class DeferredInserts:
    """Bulk inserts held back (:func:`deferring`), by table, columns and tail in first-use
    order, each kind's rows in the order given.

    Rows for one ``ON CONFLICT ... DO UPDATE`` statement must not share a key
    (Postgres refuses to update a row twice in one statement): the engine defers
    only rows keyed by subject, partition or event, which batches of different
    partitions never share.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, Columns, str], list[Sequence[Any]]] = {}

    def add(self, table: str, columns: Columns, rows: Sequence[Sequence[Any]], tail: str) -> None:
        """Hold ``rows`` for :meth:`write`."""
        self._rows.setdefault((table, columns, tail), []).extend(rows)

    def write(self, conn: Connection) -> None:
        """Make the held inserts, one statement per kind (pipeline them: nothing is read)."""
        if conn.info.get(_DEFERRED) is self:
            raise RuntimeError("deferred inserts written inside their own deferring block")
        held, self._rows = self._rows, {}
        for (table, columns, tail), rows in held.items():
            bulk_insert(conn, table, columns, rows, tail)


@contextmanager
def deferring(conn: Connection, into: DeferredInserts) -> Iterator[DeferredInserts]:
    """Within the block, :func:`bulk_insert` on ``conn`` adds its rows to ``into``."""
    if _DEFERRED in conn.info:
        raise RuntimeError("bulk inserts are already deferred on this connection")
    conn.info[_DEFERRED] = into
    try:
        yield into
    finally:
        del conn.info[_DEFERRED]
