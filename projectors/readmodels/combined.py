"""Row changes of several batches in one transaction, written together.

The engine applies the batches of several log partitions in one transaction
(``EngineCore.apply_together``).  Each batch collects its row changes as it
would alone; when it ends they join the changes of the batches before it,
folded per row in the order the batches ran, and all are written with one
set of statements per table and schema when the last batch ends.  A row two
batches change is a row no subject owns (a statistics counter, say):
partitions never share a subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Table

from projectors.readmodels.changes import Pending, RowKey
from projectors.readmodels.sdk import ProjectorRegistry
from projectors.readmodels.writer import flush_rows


def fold_into(store: dict[RowKey, Pending], later: dict[RowKey, Pending]) -> None:
    """Fold the changes of ``later`` (made after those of ``store``) into ``store``; ``later``
    is left empty."""
    for key, change in later.items():
        before = store.get(key)
        if before is None or change.deleted:
            store[key] = change  # a deletion first makes the row whatever follows says
        else:
            before.then(change.insert, dict(change.sets), dict(change.ops))
    later.clear()


@dataclass
class CombinedRows:
    """The row changes of the batches applied so far in one transaction."""

    store: dict[RowKey, Pending] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)

    def add(self, changes: dict[RowKey, Pending], tables: dict[str, Table]) -> None:
        """Take one batch's changes (its collector is left empty) and their tables."""
        fold_into(self.store, changes)
        self.tables.update(tables)

    def write(self, conn: Connection, registry: ProjectorRegistry) -> None:
        """Write them all, pipelined, and let the projectors refresh what was written."""
        flush_rows(conn, self.store, self.tables, registry)
