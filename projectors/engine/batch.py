"""Everything one batch transaction works with: connection, context, states.

``BatchScope`` is created per batch of one partition; it owns the batch's
connection (one transaction), caches the per-agency connections with their
``schema_translate_map``, and writes the small engine records (refusals,
retained deliveries).  Subject states are loaded once and saved at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table

from infra.bulk import text_array
from infra.db import pipelined
from infra.trial import rolled_back
from projectors.consent.ledger import AgencyProfile
from projectors.consent.recipients import Delivery, Recipients
from projectors.consent.subject_state import SubjectState
from projectors.directory.agencies import schema_name
from projectors.directory.roles import STATS_SCHEMA
from projectors.engine.bookkeeping import REFUSALS, RETAINED, Bookkeeping
from projectors.engine.context import PartitionContext, PolicyBook, directory_profile
from projectors.engine.expiries import Expiries
from projectors.engine.holdings import HoldingsBuffer
from projectors.log import LoggedEvent
from projectors.readmodels.changes import Pending, RowKey, Rows
from projectors.readmodels.combined import CombinedRows
from projectors.readmodels.schemas import make_schema
from projectors.readmodels.sdk import EventView, Projector, ProjectorRegistry
from projectors.readmodels.writer import flush_rows


@dataclass
class EngineSettings:
    """What the engine needs besides its connections."""

    erasure_hold_s: float = 72 * 3600.0
    backup_horizon: str = (
        "database backups taken before destruction hold wrapped keys until they expire"
    )


@dataclass
class BatchScope:
    """State and connections of one batch transaction."""

    conn: Connection
    context: PartitionContext
    policies: PolicyBook
    registry: ProjectorRegistry
    settings: EngineSettings
    states: dict[str, SubjectState]
    ready_schemas: set[str]
    counts: Counter[str] = field(default_factory=Counter)
    destroyed_kids: list[str] = field(default_factory=list)
    #: For the audit ledger: recipients and refusals by log offset.
    delivered: dict[int, list[str]] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)
    #: Deliveries of this batch, written when it ends (``projectors.engine.holdings``).
    holdings: HoldingsBuffer = field(default_factory=HoldingsBuffer)
    #: Events of this batch by offset (the archive holds them only once it commits).
    batch_events: dict[int, LoggedEvent] = field(default_factory=dict)
    #: Their offsets by subject.
    batch_offsets: dict[str, list[int]] = field(default_factory=dict)
    #: Read-model row changes of every schema, written by :meth:`flush`.
    changes: dict[RowKey, Pending] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    #: The engine's own records (refusals, receipts...), written by :meth:`flush`.
    books: Bookkeeping = field(default_factory=Bookkeeping)
    #: Subjects with rows or receipts collected and not yet written: the keys of
    #: the rows their events changed (``engine.subject_rows``).
    touched: dict[str, set[RowKey]] = field(default_factory=dict)
    #: Events of earlier batches read from the archive in this one, by offset.
    archived: dict[int, LoggedEvent] = field(default_factory=dict)
    #: Read once per batch (``subject_record.prefetch``): applied ledger entries
    #: (offset, type) and corrections, by subject.
    ledger: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    fixes: dict[str, dict[int, list[Any]]] = field(default_factory=dict)
    #: Subjects no scheduled key destruction waits for (a grant has none to cancel).
    unscheduled: set[str] = field(default_factory=set)
    #: Subjects that may have rows stored: their state was stored before this
    #: batch, or their rows were written in it.  Others have none to delete.
    stored: set[str] = field(default_factory=set)
    #: Grant expiries to store or forget (``projectors.engine.expiries``).
    expiries: Expiries = field(default_factory=Expiries)
    #: Collected changes an erasure made moot, by generation (a key once per store).
    dropped: list[dict[RowKey, Pending]] = field(default_factory=list)
    _profiles: dict[str, AgencyProfile | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stored.update(self.states)

    def state(self, subject: str | None) -> SubjectState:
        """The subject's state (new when never seen)."""
        key = subject or ""
        if key not in self.states:
            self.states[key] = SubjectState()
        return self.states[key]

    def recipients(self) -> Recipients:
        """The decider of the policy active on this partition."""
        return self.policies.recipients(self.conn, self.context.policy_digest)

    def profile(self, agency_id: str) -> AgencyProfile | None:
        """An agency as this partition knows it, else from the directory."""
        known = self.context.agencies.get(agency_id)
        if known is not None:
            return known
        if agency_id not in self._profiles:
            self._profiles[agency_id] = directory_profile(self.conn, agency_id)
        return self._profiles[agency_id]

    def ensure_schema(self, agency_id: str) -> None:
        """Create the agency's schema and projector tables once per process."""
        self._made(schema_name(agency_id), self.registry)

    def _made(self, schema: str, projectors: Iterable[Projector]) -> None:
        """``schema`` with the tables of ``projectors``, made once per process (committed
        apart from the batch, ``projectors.readmodels.schemas``)."""
        if schema not in self.ready_schemas:
            make_schema(self.conn.engine, schema, projectors)
            self.ready_schemas.add(schema)

    def _stats_made(self) -> None:
        """``haven_stats`` with the statistics projectors' tables (their list built only
        until it is made: this runs per event)."""
        if STATS_SCHEMA not in self.ready_schemas:
            self._made(STATS_SCHEMA, self.registry.statistics())

    def flush(self) -> None:
        """Write everything collected so far: holdings, bookkeeping, read-model rows.

        Runs when the batch ends and before anything reads what it wrote (an
        agency registration, a policy activation, an executed erasure).
        """
        self.write_collected()
        self.try_dropped()

    def write_collected(self, later: CombinedRows | None = None) -> None:
        """The writes of :meth:`flush`, pipelined (the caller may add writes to the block);
        ``later``: the read-model rows go there instead, for the caller to write when the
        transaction's other batches have added theirs."""
        self.stored.update(self.touched)
        self.touched.clear()
        with pipelined(self.conn):
            self.holdings.flush(self.conn)
            self.books.flush(self.conn)
            self.expiries.flush(self.conn)
            if later is None:
                self.write(self.changes)
            else:
                later.add(self.changes, self.tables)

    def try_dropped(self) -> None:
        """Write the dropped changes in a savepoint rolled back at once: a value Postgres
        refuses fails the batch (and is parked) as if it had been written."""
        stores, self.dropped = self.dropped, []
        if stores:
            with rolled_back(self.conn):  # prepared statements kept (infra/trial.py)
                for store in stores:
                    self.write(store)

    def write(self, store: dict[RowKey, Pending]) -> None:
        """Write these row changes (and refresh what they wrote)."""
        mapped = self.conn.get_execution_options().get("schema_translate_map")
        flush_rows(self.conn, store, self.tables, self.registry)
        # Refreshing maps the connection to each schema written: put back what the caller had.
        self.conn.execution_options(schema_translate_map=mapped)

    @contextmanager
    def apart(self) -> Iterator[dict[RowKey, Pending]]:
        """Collect the block's row changes in a store of their own (the caller merges it)."""
        outer, self.changes = self.changes, {}
        try:
            yield self.changes
        finally:
            self.changes = outer

    def discard(self) -> None:
        """Forget what was collected and not flushed (a rolled-back event)."""
        self.changes.clear()
        self.books.rows.clear()
        self.holdings.clear()
        self.touched.clear()
        self.dropped.clear()
        self.expiries.pending.clear()

    def consent_based(self) -> list[Projector]:
        """The projectors whose rows about a subject its consent governs."""
        return [p for p in self.registry if p.consent_based]

    def rows_for(self, agency_id: str, subject: str | None = None) -> Rows:
        """The row collector of the agency's schema (created on first use); ``subject``:
        the rows it changes count as changed by that subject's events."""
        self.ensure_schema(agency_id)
        return Rows(self.changes, self.tables, schema_name(agency_id), self._touch(subject))

    def stats_rows(self, subject: str) -> Rows:
        """The row collector of ``haven_stats`` for an event of ``subject``."""
        self._stats_made()
        return Rows(self.changes, self.tables, STATS_SCHEMA, self._touch(subject))

    def _touch(self, subject: str | None) -> set[RowKey] | None:
        return None if subject is None else self.touched.setdefault(subject, set())

    def stats_conn(self) -> Connection:
        """The batch connection rendering statistics projectors into ``haven_stats``."""
        self._stats_made()
        return self.conn.execution_options(schema_translate_map={None: STATS_SCHEMA})

    def conn_for(self, agency_id: str) -> Connection:
        """The batch connection, now rendering projector tables into the agency's schema.

        SQLAlchemy 2 changes a connection's execution options in place, so the
        map is set on every call: handlers run one agency at a time.
        """
        self.ensure_schema(agency_id)
        return self.conn.execution_options(schema_translate_map={None: schema_name(agency_id)})

    def record_refusal(self, logged: LoggedEvent, reason: str) -> None:
        """A refused event: counted, marked for the ledger, and :meth:`note_refusal`."""
        self.counts["refused"] += 1
        self.refused.add(logged.offset)
        self.note_refusal(logged, reason)

    def note_refusal(self, logged: LoggedEvent, reason: str) -> None:
        """Audit trail row plus the producer's ``refusals`` read model (ids and reason)."""
        event = logged.event
        self.books.add(
            REFUSALS, event.id, event.source, logged.producer, logged.subject, event.type, reason
        )
        producer = self.profile(logged.producer)
        refusals = self.registry.refusals()
        if producer is None or refusals is None:
            return
        view = EventView(
            event_id=event.id,
            event_type=event.type,
            subject_id=logged.subject or "",
            time=event.time,
            producer=logged.producer,
            jurisdiction=event.jurisdiction,
            agency=producer,
            data={},
            position=(self.context.partition, logged.offset),
        )
        refusals.record(self.rows_for(producer.id), view, reason)

    def retain(self, logged: LoggedEvent, agency_id: str, delivery: Delivery) -> None:
        """Keep a rule-3 delivery so erasure can rebuild what the law lets stay."""
        body = logged.event.to_cloudevent()
        body["data"] = logged.data  # whole, still sealed: the model must parse on rebuild
        fields, bases = text_array(delivery.lawful_fields), text_array(delivery.lawful_bases)
        partition = self.context.partition
        self.books.add(
            RETAINED, logged.subject, agency_id, body, fields, bases, partition, logged.offset
        )
