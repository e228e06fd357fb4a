"""The projector SDK: what a read model declares and what its handlers see.

A projector declares its tables on its own ``MetaData`` (no schema: the
engine renders them into each agency's schema) and routes event types to
short handlers.  A handler receives a :class:`Rows` collector for the
recipient agency's schema and an :class:`EventView` holding only the fields
the agency may see; personal fields in it are still sealed (``{"sealed":
"v1", "kid": ..., "ct": ...}``) and are stored that way.  Handlers declare
row changes and never run SQL: the engine decides a whole batch in memory,
then writes every row once, set-based (docs/adding-a-projector.md).

Erasure is the default: :meth:`Projector.erase` deletes the subject's rows
from every table with a ``subject_id`` column.  A projector with a table
without that column must override ``erase`` (``check_erasable`` refuses it
otherwise), so nobody can forget erasure.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache
from typing import Any, ClassVar, Protocol, runtime_checkable

from sqlalchemy import Connection, MetaData, Table, func, select

from projectors.consent.ledger import AgencyProfile
from projectors.readmodels.changes import Rows


@dataclass(frozen=True)
class EventView:
    """One event as one recipient agency may see it."""

    event_id: str
    event_type: str
    subject_id: str
    time: datetime
    producer: str
    jurisdiction: str | None
    agency: AgencyProfile
    data: Mapping[str, Any]
    bases: frozenset[str] = field(default_factory=frozenset)
    #: The log position ``(partition, offset)``: a stable, ordered row key.
    position: tuple[int, int] = (0, 0)

    def get(self, name: str, default: Any = None) -> Any:
        """A visible field, or ``default`` when the agency may not see it."""
        return self.data.get(name, default)

    def timestamp(self, name: str) -> datetime | None:
        """A visible RFC 3339 field as a datetime (None when absent or hidden)."""
        value = self.data.get(name)
        return None if value is None else datetime.fromisoformat(value)

    def day(self, name: str) -> date | None:
        """A visible date field (``YYYY-MM-DD``) as a date (None when absent or hidden)."""
        value = self.data.get(name)
        return None if value is None else date.fromisoformat(value)

    def sees(self, name: str) -> bool:
        """Whether the agency may see field ``name`` of this event."""
        return name in self.data

    @classmethod
    def made(
        cls,
        event_id: str,
        event_type: str,
        subject_id: str,
        time: datetime,
        producer: str,
        jurisdiction: str | None,
        agency: AgencyProfile,
        data: Mapping[str, Any],
        bases: frozenset[str],
        position: tuple[int, int],
    ) -> EventView:
        """The view of these fields (all given), as the constructor makes it at a third
        of its cost: a frozen dataclass's ``__init__`` sets each field through
        ``object.__setattr__``, and the engine makes one view per event and
        recipient.  The view stays frozen (checked below: same fields, no slots)."""
        view = _NEW(cls)
        _SET(
            view,
            "__dict__",
            {
                "event_id": event_id,
                "event_type": event_type,
                "subject_id": subject_id,
                "time": time,
                "producer": producer,
                "jurisdiction": jurisdiction,
                "agency": agency,
                "data": data,
                "bases": bases,
                "position": position,
            },
        )
        return view


_NEW, _SET = object.__new__, object.__setattr__
_VIEW_FIELDS = {f.name for f in fields(EventView)}
if set(inspect.signature(EventView.made).parameters) != _VIEW_FIELDS or hasattr(
    EventView, "__slots__"
):
    raise TypeError("EventView's fields changed: EventView.made must set what __init__ would")


Handler = Callable[[Rows, EventView], None]
#: Primary keys written in one schema, by table name (see :meth:`Projector.refresh`).
Written = Mapping[str, set[tuple[Any, ...]]]


@runtime_checkable
class RefusalRecorder(Protocol):
    """The read model the engine lists a producer's refused events in."""

    def record(self, rows: Rows, event: EventView, reason: str) -> None:
        """Record one refused event in the producer's schema."""

    def forget(self, rows: Rows, event_id: str) -> None:
        """Remove an event's entry (a parked event that a retry then applied)."""


class ProjectorError(TypeError):
    """A projector is declared wrongly (for example, it cannot be erased)."""


@cache
def _sorted_tables(metadata: MetaData, _count: int) -> tuple[Table, ...]:
    """``metadata.sorted_tables``, which sorts anew on every call (an erasure asks per
    projector and schema); ``_count`` renews the entry when a table is added."""
    return tuple(metadata.sorted_tables)


class Projector:
    """Base class of every read model.

    Subclasses set ``name``, ``metadata`` and ``handles`` (event type to
    method name) and write short handlers ``def on_x(self, rows, event)``
    that declare row changes on ``rows`` (:class:`Rows`).
    ``consent_based = False`` marks a model that holds no consent-derived
    subject data (the producer's own refusals), which erasure leaves alone.
    ``agency_types`` limits the schemas it runs in; ``statistics = True``
    also runs it over every accepted event in ``haven_stats`` (aggregates
    for oversight; personal fields are never passed there).
    """

    name: ClassVar[str]
    metadata: ClassVar[MetaData]
    handles: ClassVar[Mapping[str, str]] = {}
    consent_based: ClassVar[bool] = True
    #: Agency types whose schemas it runs in (None: every agency).
    agency_types: ClassVar[frozenset[str] | None] = None
    #: Also run over every accepted event, without personal fields, in ``haven_stats``.
    statistics: ClassVar[bool] = False

    def runs_for(self, agency_type: str) -> bool:
        """Whether the projector keeps rows in an agency of this type."""
        return self.agency_types is None or agency_type in self.agency_types

    def handler_for(self, event_type: str) -> Handler | None:
        """The bound handler of ``event_type``, or None."""
        method = self.handles.get(event_type)
        return None if method is None else getattr(self, method)

    def tables(self) -> list[Table]:
        """The projector's tables, in dependency order."""
        return list(_sorted_tables(self.metadata, len(self.metadata.tables)))

    def subject_tables(self) -> Iterator[Table]:
        """Tables with a ``subject_id`` column (erased by default)."""
        return (t for t in self.tables() if "subject_id" in t.c)

    def refresh(self, conn: Connection, written: Written) -> None:
        """After a batch's rows are written: recompute derived columns, set-based.

        ``conn`` renders into one schema, ``written`` names the rows written
        there.  Optional; the default does nothing.  It runs pipelined with the
        batch's writes (``infra.db.pipelined``): write statements only, since a
        ``SELECT`` there gets no rows.  Run them with
        ``projectors.readmodels.rendering.run_in_schema``, rendered once per schema.
        """

    def erase(self, conn: Connection, subject_id: str) -> int:
        """Delete every row about ``subject_id``; returns how many were deleted."""
        deleted = 0
        for table in self.subject_tables():
            deleted += conn.execute(table.delete().where(table.c.subject_id == subject_id)).rowcount
        return deleted

    def count(self, conn: Connection, subject_id: str) -> int:
        """Rows about ``subject_id`` (for erasure receipts)."""
        total = 0
        for table in self.subject_tables():
            query = select(func.count()).select_from(table).where(table.c.subject_id == subject_id)
            total += int(conn.execute(query).scalar_one())
        return total

    @classmethod
    def own_erasure(cls) -> bool:
        """Whether it erases or counts its own way (then it may read any row)."""
        return cls.erase is not Projector.erase or cls.count is not Projector.count

    @classmethod
    def check_erasable(cls) -> None:
        """Refuse a projector that has a table it cannot erase by default."""
        overrides = cls.erase is not Projector.erase
        for table in cls.metadata.sorted_tables:
            if "subject_id" not in table.c and cls.consent_based and not overrides:
                raise ProjectorError(
                    f"projector {cls.name!r}: table {table.name!r} has no subject_id column;"
                    " implement erase()"
                )
        for event_type, method in cls.handles.items():
            if not callable(getattr(cls, method, None)):
                raise ProjectorError(
                    f"projector {cls.name!r}: no method {method!r} for {event_type}"
                )


class ProjectorRegistry:
    """The projectors the engine runs, by name."""

    def __init__(self, projectors: list[Projector] | None = None) -> None:
        self._projectors: dict[str, Projector] = {}
        #: The handlers of an event type for an agency type (None: in ``haven_stats``).
        self._by_recipient: dict[tuple[str, str | None], list[Handler]] = {}
        for projector in projectors or []:
            self.register(projector)

    def register(self, projector: Projector) -> Projector:
        """Add a projector (checked: names unique, erasable)."""
        type(projector).check_erasable()
        if projector.name in self._projectors:
            raise ProjectorError(f"projector {projector.name!r} registered twice")
        self._projectors[projector.name] = projector
        self._by_recipient.clear()
        return projector

    def __iter__(self) -> Iterator[Projector]:
        return iter(self._projectors.values())

    def get(self, name: str) -> Projector:
        """One projector by name."""
        return self._projectors[name]

    def refusals(self) -> RefusalRecorder | None:
        """The ``refusals`` projector, when registered."""
        projector = self._projectors.get("refusals")
        return projector if isinstance(projector, RefusalRecorder) else None

    def handlers_for(self, event_type: str, agency_type: str | None) -> list[Handler]:
        """The handlers of ``event_type``, in registration order, whose projectors keep
        rows in an agency of ``agency_type`` (:meth:`Projector.runs_for`), or, for None,
        those that run in ``haven_stats``; found once per pair (the engine asks per event
        and recipient)."""
        key = (event_type, agency_type)
        found = self._by_recipient.get(key)
        if found is None:
            found = self._by_recipient[key] = [
                handler
                for p in self
                if (p.statistics if agency_type is None else p.runs_for(agency_type))
                and (handler := p.handler_for(event_type)) is not None
            ]
        return found

    def own_erasure(self) -> bool:
        """Whether a projector erases or counts its own way (:meth:`Projector.own_erasure`)."""
        return any(p.own_erasure() for p in self)

    def statistics(self) -> list[Projector]:
        """Projectors that also run in ``haven_stats``."""
        return [p for p in self if p.statistics]

    def table_names(self) -> set[str]:
        """The names of every projector's tables."""
        return {table.name for projector in self for table in projector.metadata.tables.values()}
