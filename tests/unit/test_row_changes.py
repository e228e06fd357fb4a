"""Row changes fold per row in log order, as if each had been written on its own."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from projectors.readmodels.changes import ColumnOp, Pending, RowKey, Rows

METADATA = sa.MetaData()
TABLE = sa.Table(
    "facts",
    METADATA,
    sa.Column("subject_id", sa.Text, primary_key=True),
    sa.Column("level", sa.Text),
    sa.Column("first_at", sa.Integer),
    sa.Column("last_at", sa.Integer),
    sa.Column("open", sa.Integer),
    sa.Column("active", sa.Text),
)
KEY = {"subject_id": "s1"}


def _rows() -> tuple[Rows, dict[RowKey, Pending]]:
    store: dict[RowKey, Pending] = {}
    return Rows(store, {}, "agency_x"), store


def _one(store: dict[RowKey, Pending]) -> Pending:
    assert list(store) == [("agency_x", "facts", ("s1",))]
    return store[("agency_x", "facts", ("s1",))]


def _existing(pending: Pending, row: dict[str, Any]) -> dict[str, Any]:
    """What the folded change makes of an existing row (what the UPDATE computes)."""
    return row | pending.sets | {name: op.apply(row.get(name)) for name, op in pending.ops.items()}


def test_upserts_fold_into_one_insert_and_one_update() -> None:
    rows, store = _rows()
    rows.upsert(TABLE, KEY, {"level": "high"}, least={"first_at": 5}, greatest={"last_at": 5})
    rows.upsert(TABLE, KEY, {"level": "low"}, least={"first_at": 3}, greatest={"last_at": 3})
    rows.upsert(TABLE, KEY, add={"open": 1})
    rows.upsert(TABLE, KEY, add={"open": -1})
    rows.upsert(TABLE, KEY, add={"open": -1})
    pending = _one(store)
    assert pending.insert == {
        "subject_id": "s1",
        "level": "low",
        "first_at": 3,
        "last_at": 5,
        "open": 0,
    }
    old = {"subject_id": "s1", "level": "x", "first_at": 4, "last_at": 9, "open": 2}
    assert _existing(pending, old) == {
        "subject_id": "s1",
        "level": "low",
        "first_at": 3,
        "last_at": 9,
        "open": 1,  # 2 + 1 - 1 - 1, never below zero on the way
    }
    assert _existing(pending, old | {"open": 0})["open"] == 0


def test_an_update_before_the_row_exists_changes_nothing_it_creates() -> None:
    rows, store = _rows()
    rows.update(TABLE, KEY, greatest={"last_at": 9})
    assert _one(store).insert is None, "an update alone never creates the row"
    rows.upsert(TABLE, KEY, {"level": "high"}, greatest={"last_at": 2})
    pending = _one(store)
    assert pending.insert == {"subject_id": "s1", "level": "high", "last_at": 2}
    assert _existing(pending, {"last_at": 5})["last_at"] == 9


def test_a_delete_makes_what_follows_exact() -> None:
    rows, store = _rows()
    rows.upsert(TABLE, KEY, {"level": "high", "active": "p1"})
    rows.delete(TABLE, KEY)
    assert _one(store) == Pending(True, None, {}, {})
    rows.upsert(TABLE, KEY, {"level": "low"}, clear_if={"active": "p1"})
    rows.update(TABLE, KEY, add={"open": 2})
    assert _one(store) == Pending(
        True, {"subject_id": "s1", "level": "low", "active": None, "open": 2}, {}, {}
    )


def test_a_set_replaces_the_operations_before_it_and_folds_those_after_it() -> None:
    rows, store = _rows()
    rows.update(TABLE, KEY, greatest={"last_at": 4}, add={"open": 1})
    rows.update(TABLE, KEY, {"last_at": 2})  # a set: the greatest before it no longer counts
    rows.update(TABLE, KEY, greatest={"last_at": 3}, least={"first_at": 7})
    rows.update(TABLE, KEY, {"first_at": 1}, least={"first_at": 5})  # named twice: the op wins
    pending = _one(store)
    assert pending.sets == {"last_at": 3}
    assert set(pending.ops) == {"open", "first_at"}
    old = {"subject_id": "s1", "last_at": 9, "open": 2, "first_at": 6}
    assert _existing(pending, old) == {"subject_id": "s1", "last_at": 3, "open": 3, "first_at": 5}


def test_clearing_applies_only_to_the_value_named() -> None:
    cleared = ColumnOp("clear_if", frozenset({"p1"})).then(ColumnOp("clear_if", frozenset({"p2"})))
    assert [cleared.apply(v) for v in ("p1", "p2", "p3", None)] == [None, None, "p3", None]
    assert ColumnOp("set", "p1").then(cleared).apply("p9") is None
    assert cleared.then(ColumnOp("set", "p4")).apply("p1") == "p4"


def test_an_insert_keeps_an_existing_row() -> None:
    rows, store = _rows()
    rows.insert(TABLE, {"subject_id": "s1", "level": "high"})
    rows.insert(TABLE, {"subject_id": "s1", "level": "low"})
    pending = _one(store)
    assert pending.insert == {"subject_id": "s1", "level": "high"}
    assert (pending.sets, pending.ops) == ({}, {})


def _as_postgres(kind: str, value: Any, floor: int, old: Any) -> Any:
    """What the writer's UPDATE computes for one column (``greatest``/``least`` ignore
    nulls; ``add`` counts from 0; ``clear_if`` keeps a value outside the set)."""
    if kind == "set":
        return value
    if kind in ("greatest", "least"):
        present = [v for v in (old, value) if v is not None]
        return (max if kind == "greatest" else min)(present) if present else None
    if kind == "add":
        return max((old or 0) + value, floor)
    return None if old in value else old


_NUMBERS = st.none() | st.integers(-5, 5)


@given(
    kind=st.sampled_from(["set", "greatest", "least"]),
    value=_NUMBERS,
    old=_NUMBERS,
)
def test_an_op_applies_as_postgres_computes_it(kind: str, value: Any, old: Any) -> None:
    assert ColumnOp(kind, value).apply(old) == _as_postgres(kind, value, 0, old)


@given(value=st.integers(-5, 5), floor=st.integers(-3, 3), old=_NUMBERS)
def test_a_counter_applies_as_postgres_computes_it(value: int, floor: int, old: Any) -> None:
    assert ColumnOp("add", value, floor).apply(old) == _as_postgres("add", value, floor, old)


@given(
    cleared=st.frozensets(st.sampled_from("abc"), min_size=1),
    old=st.none() | st.sampled_from("abcd"),
)
def test_a_clearing_applies_as_postgres_computes_it(cleared: frozenset[str], old: Any) -> None:
    assert ColumnOp("clear_if", cleared).apply(old) == _as_postgres("clear_if", cleared, 0, old)
