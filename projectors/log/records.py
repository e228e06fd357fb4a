"""Records of the sealed log as the engine, the archive and the audit read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from events.codec import parse_log_record
from events.envelope import Event
from events.sealing import bind_to_event, is_sealed
from events.types import EventData

T = TypeVar("T")


class once(Generic[T]):
    """A value made on first use and kept in the instance, like
    :func:`functools.cached_property` but without its lock.

    Python 3.11's ``cached_property`` takes one lock per property for *all*
    instances and holds it while it computes.  A replay applies its log
    partitions in threads, and they queued on that lock at every event
    (``logged.producer`` alone a quarter of a profile's samples): replaying
    20,000 events took 15-20 % more CPU with it (three alternating pairs).
    Python 3.12 dropped the lock.  Two threads that race here compute the same
    value twice, which is harmless for these pure reads of the event.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> once[T] | T:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


@dataclass(frozen=True)
class LogRecord:
    """One record of a log partition: its offset and its sealed bytes."""

    offset: int
    value: bytes


@dataclass(frozen=True)
class LoggedEvent:
    """One parsed log record: the event, its JSON-mode data and its offset."""

    offset: int
    event: Event[EventData]
    data: dict[str, Any]

    @once
    def subject(self) -> str | None:
        """The subject id, if any (read once: the engine asks for it many times an event)."""
        return None if self.event.subject is None else str(self.event.subject)

    @once
    def producer(self) -> str:
        """The producing agency id (``system`` for Haven's own events)."""
        return self.event.agency or "system"

    @once
    def bound_data(self) -> dict[str, Any]:
        """``data`` with every sealed field bound to this event and its path (the
        AES-GCM associated data), as read models store it; made once per event,
        not once per recipient.  A corrected field is already bound to the
        rectification that sealed it and stays as it is."""
        event_id = self.event.id
        return {
            name: bind_to_event(value, event_id, f"data.{name}")
            if is_sealed(value) and "event_id" not in value
            else value
            for name, value in self.data.items()
        }


def parse_record(record: LogRecord) -> LoggedEvent:
    """Parse one sealed log record (personal fields stay sealed)."""
    event = parse_log_record(record.value)
    data = event.data.model_dump(mode="json", exclude_none=True)
    return LoggedEvent(record.offset, event, data)
