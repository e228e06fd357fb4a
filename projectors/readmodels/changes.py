"""Row changes as projector handlers declare them, collapsed per row in log order.

A handler never runs SQL: it tells a :class:`Rows` collector what becomes of
rows (upsert given columns by key, update an existing row, insert if
absent, delete by key; a column may keep the greatest or least value seen,
count up and down from zero, or be cleared when it holds a given value).
Changes to one row within a batch fold into one :class:`Pending` change, so
the engine writes each row once, set-based (``projectors.readmodels.writer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Table


@dataclass(slots=True, unsafe_hash=True)
class ColumnOp:
    """What happens to one column of an existing row (immutable once made).

    ``kind``: ``set`` (to ``value``), ``greatest``/``least`` (with ``value``;
    nulls ignored, as Postgres does), ``add`` (``max(old + value, floor)``,
    a missing old value counting as 0) or ``clear_if`` (null when the old
    value is in ``value``, a frozenset).  Slotted and not frozen: handlers
    make one per column they touch, and a frozen dataclass costs several
    times more to build; nothing assigns to one after it is made.
    """

    kind: str
    value: Any
    floor: int = 0

    def apply(self, old: Any) -> Any:
        """The column's new value given its old one (None: absent or null)."""
        kind, value = self.kind, self.value
        if kind == "set":
            return value
        if old is None:  # an insert's row, most often: nothing to compare or count from
            if kind == "add":
                return max(value, self.floor)
            return None if kind == "clear_if" else value
        if kind == "greatest":
            return old if value is None or old >= value else value
        if kind == "least":
            return old if value is None or old <= value else value
        if kind == "add":
            return max(old + value, self.floor)
        return None if old in value else old

    def then(self, later: ColumnOp) -> ColumnOp:
        """One op doing ``self`` and then ``later``."""
        if later.kind == "set":
            return later
        if self.kind == "set":
            return ColumnOp("set", later.apply(self.value))
        if self.kind != later.kind:
            raise ValueError(f"cannot combine {self.kind} and {later.kind} on one column")
        if self.kind in ("greatest", "least"):
            return ColumnOp(self.kind, ColumnOp(self.kind, self.value).apply(later.value))
        if self.kind == "add":
            floor = max(self.floor + later.value, later.floor)
            return ColumnOp("add", self.value + later.value, floor)
        return ColumnOp("clear_if", self.value | later.value)


Ops = dict[str, ColumnOp]


@dataclass
class Pending:
    """Everything a batch does to one row, as one change.

    ``deleted``: the row is deleted first, so what follows is known exactly
    and ``insert`` is the whole row (None: no row).  Otherwise ``insert`` is
    the row written when none exists (None: none is written), and ``sets``
    (columns set to a value, kept as the values themselves: most columns a
    handler touches are set, and a :class:`ColumnOp` for each costs more than
    the rest of the change) and ``ops`` (every other column operation) what
    happens to an existing one.  A column is in one of the two at most.
    """

    deleted: bool
    insert: dict[str, Any] | None
    sets: dict[str, Any]
    ops: Ops

    @property
    def changes_existing(self) -> bool:
        """Whether it changes an existing row's columns."""
        return bool(self.sets or self.ops)

    def then(self, insert: dict[str, Any] | None, sets: dict[str, Any], ops: Ops) -> None:
        """Fold in one more change (``insert``, ``sets`` and ``ops`` as in
        :class:`Pending`; ``sets`` and ``ops`` are the caller's own, fresh dicts)."""
        if self.insert is not None:
            self.insert = _applied(self.insert, sets, ops)
        else:
            self.insert = insert
        if self.deleted:
            return
        if sets:
            earlier = self.ops
            if earlier:  # an op or two: a loop, cheaper than intersecting key views
                for name in [n for n in earlier if n in sets]:
                    del earlier[name]  # a later set replaces any operation before it
            self.sets.update(sets)
        for name, op in ops.items():
            if name in self.sets:  # set, then changed: set to the changed value
                self.sets[name] = op.apply(self.sets[name])
                continue
            before = self.ops.get(name)
            self.ops[name] = op if before is None else before.then(op)


def _applied(row: Mapping[str, Any], sets: Mapping[str, Any], ops: Ops) -> dict[str, Any]:
    """A copy of ``row`` with ``sets`` and ``ops`` applied."""
    new = {**row, **sets}
    for name, op in ops.items():
        new[name] = op.apply(row.get(name))
    return new


class ColumnOps(TypedDict, total=False):
    """Column operations of :meth:`Rows.upsert` and :meth:`Rows.update`."""

    greatest: Mapping[str, Any]
    least: Mapping[str, Any]
    add: Mapping[str, int]
    clear_if: Mapping[str, Any]


#: What each value of a :class:`ColumnOps` is. A cast to this name, not to
#: ``Mapping[str, Any]`` written out (subscripting a generic at each call took a
#: third of this function) nor an isinstance check against the ABC (another third).
_Columns = Mapping[str, Any]


def _ops(given: ColumnOps) -> Ops:
    ops: Ops = {}
    for kind, columns in given.items():
        if kind == "clear_if":
            for name, value in cast(_Columns, columns).items():
                ops[name] = ColumnOp(kind, frozenset((value,)))
        else:
            for name, value in cast(_Columns, columns).items():
                ops[name] = ColumnOp(kind, value)
    return ops


def _split(values: Mapping[str, Any] | None, given: ColumnOps) -> tuple[dict[str, Any], Ops]:
    """A change's columns set (fresh dict) and its other operations, which win where a
    column is named twice."""
    sets = dict(values) if values else {}
    if not given:
        return sets, {}
    ops = _ops(given)
    if sets:
        for name in ops:  # a loop: an op or two, cheaper than intersecting key views
            sets.pop(name, None)
    return sets, ops


RowKey = tuple[str, str, tuple[Any, ...]]  # schema, table, primary-key values


@cache
def primary_key(table: Table) -> tuple[str, ...]:
    """The names of the table's primary-key columns (read once: iterating them is slow)."""
    return tuple(c.name for c in table.primary_key)


class Rows:
    """The row changes of one schema (an agency's, or the statistics one), for handlers."""

    def __init__(
        self,
        store: dict[RowKey, Pending],
        tables: dict[str, Table],
        schema: str,
        touched: set[RowKey] | None = None,
    ):
        self._store = store
        self._tables = tables
        self.schema = schema
        #: When given, the key of every row changed is added to it.
        self._touched = touched

    def _key(self, table: Table, key: Mapping[str, Any]) -> RowKey:
        name = table.name
        self._tables[name] = table
        names = primary_key(table)
        values = (key[names[0]],) if len(names) == 1 else tuple([key[n] for n in names])
        row_key = (self.schema, name, values)
        if self._touched is not None:
            self._touched.add(row_key)
        return row_key

    def _change(
        self,
        table: Table,
        key: Mapping[str, Any],
        insert: dict[str, Any] | None,
        sets: dict[str, Any],
        ops: Ops,
    ) -> None:
        row_key = self._key(table, key)
        pending = self._store.get(row_key)
        if pending is None:
            self._store[row_key] = Pending(False, insert, sets, ops)
        else:
            pending.then(insert, sets, ops)

    def upsert(
        self,
        table: Table,
        key: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        **ops: Unpack[ColumnOps],
    ) -> None:
        """Insert the row (``key`` holds its primary key and columns set only on insert),
        or change only the given columns of the existing one."""
        sets, changed = _split(values, ops)
        self._change(table, key, _applied(key, sets, changed), sets, changed)

    def update(
        self,
        table: Table,
        key: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        **ops: Unpack[ColumnOps],
    ) -> None:
        """Change the given columns of the row, if it exists (no row is created)."""
        self._change(table, key, None, *_split(values, ops))

    def insert(self, table: Table, row: Mapping[str, Any]) -> None:
        """Insert the row unless one with its key exists (which stays as it is)."""
        self._change(table, row, dict(row), {}, {})

    def delete(self, table: Table, key: Mapping[str, Any]) -> None:
        """Delete the row with this primary key, if any."""
        self._store[self._key(table, key)] = Pending(True, None, {}, {})
