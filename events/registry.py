"""Type registry: event type string -> data model (plain or sealed), versions, schema URIs.

Routing by type goes through this dict, never through ``if``/``elif`` chains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from events.envelope import schema_uri as _schema_uri
from events.types import EVENT_MODELS, EventData
from events.types.personal import sealed_variant

#: ``haven.<family>.<name>.v<N>``: lower-case dotted words, then the version.
TYPE_PATTERN: Final = re.compile(
    r"^(?P<stem>[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+)\.v(?P<v>[1-9][0-9]*)$"
)


def split_type(event_type: str) -> tuple[str, int]:
    """``haven.victim.identified.v2`` -> ``("haven.victim.identified", 2)``."""
    match = TYPE_PATTERN.fullmatch(event_type)
    if match is None:
        raise ValueError(f"not a versioned event type: {event_type!r}")
    return match["stem"], int(match["v"])


class TypeRegistry:
    """Event types known to this process, each with its data model."""

    def __init__(self, models: Iterable[type[EventData]] = ()) -> None:
        self._models: dict[str, type[EventData]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[EventData]) -> type[EventData]:
        """Add a data model (usable as a class decorator); types are unique."""
        split_type(model.event_type)
        if model.event_type in self._models:
            raise ValueError(f"event type registered twice: {model.event_type}")
        self._models[model.event_type] = model
        return model

    def get(self, event_type: str) -> type[EventData] | None:
        """The data model of a type, or None when unknown."""
        return self._models.get(event_type)

    def model(self, event_type: str) -> type[EventData]:
        """The data model of a type (KeyError when unknown)."""
        return self._models[event_type]

    def data_model(self, event_type: str, *, sealed: bool = False) -> type[EventData]:
        """The plain (inbound) or sealed (log) data model of a type."""
        model = self.model(event_type)
        return sealed_variant(model) if sealed else model

    def event_types(self) -> tuple[str, ...]:
        """Every registered type, sorted."""
        return tuple(sorted(self._models))

    def latest(self, event_type: str) -> str:
        """The newest registered version of a type (given any version or its stem)."""
        stem = split_type(event_type)[0] if TYPE_PATTERN.fullmatch(event_type) else event_type
        versions = [split_type(t)[1] for t in self._models if split_type(t)[0] == stem]
        if not versions:
            raise KeyError(event_type)
        return f"{stem}.v{max(versions)}"

    def schema_uri(self, event_type: str) -> str:
        """The ``dataschema`` URI of a registered type."""
        self.model(event_type)
        return _schema_uri(event_type)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._models

    def __iter__(self) -> Iterator[type[EventData]]:
        return iter(self._models[t] for t in self.event_types())

    def __len__(self) -> int:
        return len(self._models)


#: The registry of the contract's event types.
REGISTRY: Final = TypeRegistry(EVENT_MODELS)


def model_for(event_type: str) -> type[EventData] | None:
    """The data model of a contract type, or None."""
    return REGISTRY.get(event_type)


def data_model(event_type: str, sealed: bool = False) -> type[EventData]:
    """The plain or sealed data model of a contract type (KeyError when unknown)."""
    return REGISTRY.data_model(event_type, sealed=sealed)


def event_types() -> tuple[str, ...]:
    """Every contract type, sorted."""
    return REGISTRY.event_types()


def latest_version(event_type: str) -> str:
    """The newest contract version of a type."""
    return REGISTRY.latest(event_type)


def schema_uri(event_type: str) -> str:
    """The schema URI of a contract type."""
    return REGISTRY.schema_uri(event_type)
