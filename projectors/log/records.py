"""Records of the sealed log as the engine, the archive and the audit read them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from events.codec import parse_log_record
from events.envelope import Event
from events.sealing import bind_to_event, is_sealed
from events.types import EventData


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

    @cached_property
    def subject(self) -> str | None:
        """The subject id, if any (read once: the engine asks for it many times an event)."""
        return None if self.event.subject is None else str(self.event.subject)

    @cached_property
    def producer(self) -> str:
        """The producing agency id (``system`` for Haven's own events)."""
        return self.event.agency or "system"

    @cached_property
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
