"""Writes to many schemas merged into one statement store what one statement per
schema stores (``projectors.readmodels.merging``), on the real Postgres."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

import infra.db
from infra.bulk import text_array
from infra.db import Numbered
from projectors.readmodels import merging, writer
from projectors.readmodels.changes import Pending, RowKey, Rows
from projectors.readmodels.merging import MERGE_FROM, Parts

ITEMS = sa.Table(
    "merge_items",
    sa.MetaData(),
    sa.Column("k", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("seen", sa.BigInteger),
    sa.Column("total", sa.BigInteger),
    sa.Column("tags", ARRAY(sa.Text)),
)
SCHEMAS = MERGE_FROM + 4


def _schemas(prefix: str) -> list[str]:
    return [f"{prefix}_{n}" for n in range(SCHEMAS)]


def _create(engine: Engine, schemas: list[str]) -> None:
    with engine.begin() as conn:
        for n, schema in enumerate(schemas):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            mapped = conn.execution_options(schema_translate_map={None: schema})
            ITEMS.create(mapped)
            # Each schema starts with rows 1..4 (and the nth also with row 10 + n).
            rows = [
                {"k": k, "label": f"old{k}", "seen": 5, "total": 1, "tags": ["x"]}
                for k in (1, 2, 3, 4)
            ]
            mapped.execute(
                ITEMS.insert(),
                [*rows, {"k": 10 + n, "label": "own", "seen": 0, "total": 0, "tags": None}],
            )


def _changes(schemas: list[str]) -> tuple[dict[RowKey, Pending], dict[str, sa.Table]]:
    store: dict[RowKey, Pending] = {}
    tables: dict[str, sa.Table] = {}
    for n, schema in enumerate(schemas):
        rows = Rows(store, tables, schema)
        # An upsert of an existing row and of a new one (the same shape).
        rows.upsert(ITEMS, {"k": 1, "label": "new1"}, greatest={"seen": n}, add={"total": 2})
        rows.upsert(ITEMS, {"k": 20 + n, "label": "new"}, greatest={"seen": n}, add={"total": 2})
        rows.update(ITEMS, {"k": 2}, {"tags": text_array(frozenset({"a", f"s{n}"}))})
        rows.insert(ITEMS, {"k": 3, "label": "ignored"})  # exists: stays as it is
        rows.insert(ITEMS, {"k": 40 + n, "label": f"ins{n}", "tags": ["q", "r"]})
        rows.delete(ITEMS, {"k": 4})
        # Deleted, then inserted again in the same batch: replaced.
        rows.delete(ITEMS, {"k": 10 + n})
        rows.insert(ITEMS, {"k": 10 + n, "label": "again"})
    return store, tables


def _contents(engine: Engine, schemas: list[str]) -> list[list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return [
            [tuple(r) for r in conn.exec_driver_sql(f'SELECT * FROM "{s}".merge_items ORDER BY k')]
            for s in schemas
        ]


def _write(engine: Engine, schemas: list[str]) -> None:
    store, tables = _changes(schemas)
    with engine.begin() as conn:
        writer.write_changes(conn, store, tables)


def test_merged_writes_store_what_one_statement_per_schema_stores(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged, separate = _schemas("merged"), _schemas("separate")
    _create(engine, merged)
    _create(engine, separate)
    calls: list[str] = []
    real = infra.db.write_numbered

    def counted(conn: Connection, statement: Numbered, params: Mapping[str, Any]) -> None:
        calls.append(statement.sql)
        real(conn, statement, params)

    monkeypatch.setattr(writer, "write_numbered", counted)
    _write(engine, merged)
    assert calls == []  # every write went merged
    monkeypatch.setattr(writer, "MERGE_FROM", SCHEMAS + 1)
    _write(engine, separate)
    assert calls  # and here one statement per schema
    got, expected = _contents(engine, merged), _contents(engine, separate)
    assert got == expected
    first = {row[0]: row for row in got[0]}
    assert first[1] == (1, "old1", 5, 3, ["x"])
    assert first[2][4] == ["a", "s0"]
    assert first[3][1] == "old3"
    assert 4 not in first
    assert first[10] == (10, "again", None, None, None)
    assert first[20] == (20, "new", 0, 2, None)
    assert first[40][4] == ["q", "r"]


def test_merged_statements_are_cut_at_the_bound(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = _schemas("bounded")
    _create(engine, schemas)
    monkeypatch.setattr(merging, "MERGE_AT_MOST", 5)
    _write(engine, schemas)
    assert all(len(rows) == 6 for rows in _contents(engine, schemas))


def test_a_failing_merged_write_names_the_statement_and_fails_the_transaction(
    engine: Engine,
) -> None:
    schemas = _schemas("failing")
    _create(engine, schemas)
    store: dict[RowKey, Pending] = {}
    tables: dict[str, sa.Table] = {}
    for schema in schemas:
        Rows(store, tables, schema).insert(ITEMS, {"k": 99, "label": None})  # NOT NULL
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        writer.write_changes(conn, store, tables)
    assert "not-null" in str(caught.value)
    assert f"({SCHEMAS} schemas)" in str(caught.value)
    assert all(99 not in {r[0] for r in rows} for rows in _contents(engine, schemas))


def test_each_schema_gets_its_own_parameters() -> None:
    parts = Parts.of(
        (
            "UPDATE __haven_schema__.t SET a = %(a)s WHERE b = %(b)s",
            "INSERT INTO __haven_schema__.t SELECT %(b)s, %(a)s",
        )
    )
    assert parts.names == ("a", "b")
    assert (
        parts.text(["x"])
        == b'WITH w0 AS (UPDATE "x".t SET a = $1 WHERE b = $2) INSERT INTO "x".t SELECT $2, $1'
    )
    assert parts.text(["x", 'y"z']) == (
        b'WITH w0 AS (UPDATE "x".t SET a = $1 WHERE b = $2),'
        b' w1 AS (INSERT INTO "x".t SELECT $2, $1),'
        b' w2 AS (UPDATE "y""z".t SET a = $3 WHERE b = $4) INSERT INTO "y""z".t SELECT $4, $3'
    )
