"""The closing writes of the batches of one transaction, made together.

When the engine applies the batches of several log partitions in one
transaction (``EngineCore.apply_together``), each batch ends with the same
writes: the ids it applied and its subjects' states, holdings, receipts and
the other bookkeeping, its audit-ledger entries, archived records and chain
head, the sealed-outbox rows it archived, its position.  One batch alone
writes them as it ends; here each batch adds them to a :class:`Closing`, and
when the last batch has ended they go out with one statement per table for
all partitions (with the read-model rows, :class:`CombinedRows`), in one
round trip, and the positions move in one more.

Nothing reads them before: the batches after one read only their own
partition's and subjects' rows (a subject is in one partition), and these
writes are keyed by partition, subject or event, so no two batches write the
same row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from infra.bulk import DeferredInserts
from infra.db import pipelined
from projectors.audit.ledger import ChainedBatch, write_batches
from projectors.log import ENGINE_POSITIONS
from projectors.log.positions import Move
from projectors.readmodels.combined import CombinedRows
from projectors.readmodels.sdk import ProjectorRegistry


@dataclass
class Closing:
    """What the batches applied so far in one transaction still have to write."""

    topic: str
    rows: CombinedRows = field(default_factory=CombinedRows)
    inserts: DeferredInserts = field(default_factory=DeferredInserts)
    ledger: list[ChainedBatch] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)

    def write(self, conn: Connection, registry: ProjectorRegistry) -> None:
        """Write it all: bookkeeping, ledger and read-model rows pipelined, then the
        positions (checked: :class:`~projectors.log.PositionMoved` if one moved)."""
        with pipelined(conn):
            self.inserts.write(conn)
            write_batches(conn, self.topic, self.ledger)
            self.rows.write(conn, registry)
        ENGINE_POSITIONS.advance_many(conn, self.moves)
