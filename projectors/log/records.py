"""Records of the sealed log as the engine, the archive and the audit read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.codec import parse_log_dict
from events.envelope import Event
from events.jsonload import load_json
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

    @property
    def subject(self) -> str | None:
        """The subject id, if any."""
        return None if self.event.subject is None else str(self.event.subject)

    @property
    def producer(self) -> str:
        """The producing agency id (``system`` for Haven's own events)."""
        return self.event.agency or "system"


def parse_record(record: LogRecord) -> LoggedEvent:
    """Parse one sealed log record (personal fields stay sealed)."""
    event = parse_log_dict(load_json(record.value))
    data = event.data.model_dump(mode="json", exclude_none=True)
    return LoggedEvent(record.offset, event, data)
