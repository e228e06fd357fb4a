"""Changes of two batches folded together leave a row as the two written in turn would."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from projectors.readmodels.changes import Pending, RowKey, Rows
from projectors.readmodels.combined import CombinedRows, fold_into

TABLE = sa.Table(
    "cells",
    sa.MetaData(),
    sa.Column("cell", sa.Text, primary_key=True),
    sa.Column("label", sa.Text),
    sa.Column("first_at", sa.Integer),
    sa.Column("count", sa.Integer),
)
KEY = {"cell": "GR-2026-03"}
ROW_KEY: RowKey = ("haven_stats", "cells", ("GR-2026-03",))

Change = Callable[[Rows], None]
CHANGES: list[Change] = [
    lambda rows: rows.upsert(TABLE, KEY, {"label": "a"}, add={"count": 1}),
    lambda rows: rows.upsert(TABLE, KEY, {"label": "b"}, least={"first_at": 4}),
    lambda rows: rows.upsert(TABLE, KEY, add={"count": -1}),
    lambda rows: rows.update(TABLE, KEY, {"label": "c"}),
    lambda rows: rows.insert(TABLE, KEY | {"label": "new", "count": 7}),
    lambda rows: rows.delete(TABLE, KEY),
]


def _outcome(pending: Pending | None, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The row after ``pending`` is written over ``row`` (None: no row), as the writer does."""
    if pending is None:
        return row
    if pending.deleted or row is None:
        return None if pending.insert is None else dict(pending.insert)
    return row | pending.sets | {name: op.apply(row.get(name)) for name, op in pending.ops.items()}


def _collected(changes: list[Change]) -> dict[RowKey, Pending]:
    store: dict[RowKey, Pending] = {}
    rows = Rows(store, {}, "haven_stats")
    for change in changes:
        change(rows)
    return store


def test_folding_equals_writing_in_turn() -> None:
    rng = random.Random(7)
    for _ in range(500):
        first = [rng.choice(CHANGES) for _ in range(rng.randint(0, 4))]
        second = [rng.choice(CHANGES) for _ in range(rng.randint(1, 4))]
        combined = _collected(first)
        fold_into(combined, _collected(second))
        for row in (None, {"cell": KEY["cell"], "label": "old", "first_at": 9, "count": 2}):
            before = _outcome(_collected(first).get(ROW_KEY), row)
            in_turn = _outcome(_collected(second).get(ROW_KEY), before)
            assert _outcome(combined.get(ROW_KEY), row) == in_turn, (first, second, row)


def test_combined_rows_take_each_batch_and_empty_its_collector() -> None:
    combined = CombinedRows()
    batch = _collected([CHANGES[0]])
    combined.add(batch, {"cells": TABLE})
    combined.add(_collected([CHANGES[0], CHANGES[2], CHANGES[0]]), {})
    assert not batch
    assert combined.tables == {"cells": TABLE}
    assert _outcome(combined.store[ROW_KEY], None) == {
        "cell": KEY["cell"],
        "label": "a",
        "count": 2,
    }
