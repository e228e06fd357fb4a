"""Upcasters: old event versions are read as the newest one, never rewritten.

A breaking change of a type is a new version (``.v2``) with its own model and
schema, plus one upcaster ``v1 -> v2`` that turns a whole structured-mode
envelope (a dict) of the old version into one of the new.  On read
(``events.codec.parse_log_record``) the chain ``v1 -> v2 -> v3 ...`` is
applied until the newest registered version.  The stored bytes stay as they
were, so the audit hash chain is untouched.

Upcasters see the log form: personal fields are sealed, and the associated
data of a sealed value binds it to its field name, so an upcaster must not
rename or move a personal field (it can only keep it or drop it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final

from events.envelope import schema_uri
from events.registry import split_type

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]


class UpcastError(ValueError):
    """An upcaster chain is malformed or an upcaster produced the wrong type."""


class Upcasters:
    """A chain registry: ``"haven.x.v1" -> fn`` producing ``haven.x.v2``."""

    def __init__(self) -> None:
        self._steps: dict[str, Upcaster] = {}

    def register(self, from_type: str) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``@upcasters.register("haven.x.v1")`` on a v1 -> v2 function."""

        def decorate(fn: Upcaster) -> Upcaster:
            self.add(from_type, fn)
            return fn

        return decorate

    def add(self, from_type: str, fn: Upcaster) -> None:
        """Register the upcaster from ``from_type`` to the next version."""
        split_type(from_type)
        if from_type in self._steps:
            raise UpcastError(f"an upcaster from {from_type} is already registered")
        self._steps[from_type] = fn

    @staticmethod
    def next_type(event_type: str) -> str:
        """``haven.x.v1`` -> ``haven.x.v2``."""
        stem, version = split_type(event_type)
        return f"{stem}.v{version + 1}"

    def latest(self, event_type: str) -> str:
        """The version the chain leads to from ``event_type``."""
        while event_type in self._steps:
            event_type = self.next_type(event_type)
        return event_type

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._steps

    def is_current(self, envelope: Mapping[str, Any]) -> bool:
        """Whether ``envelope`` is at the newest version of its type (nothing to upcast)."""
        event_type = envelope.get("type")
        return not (isinstance(event_type, str) and event_type in self._steps)

    def upcast(self, envelope: Mapping[str, Any]) -> JsonObject:
        """A copy of ``envelope`` upcast to the newest version of its type.

        Each step receives a private deep copy; the chain sets ``type`` and
        ``dataschema`` of the result, so upcasters only transform the rest.
        An envelope already at the newest version is copied shallowly (nothing
        changes it), which spares the engine a deep copy per record.
        """
        if self.is_current(envelope):
            return dict(envelope)
        event_type = envelope.get("type")
        current: JsonObject = copy.deepcopy(dict(envelope))
        while isinstance(event_type, str) and event_type in self._steps:
            target = self.next_type(event_type)
            current = self._steps[event_type](current)
            if current.get("type") not in (event_type, target):
                raise UpcastError(f"upcaster from {event_type} must produce {target}")
            current["type"] = target
            if current.get("dataschema") is not None:
                current["dataschema"] = schema_uri(target)
            event_type = target
        return current


#: The upcasters of the contract (none yet: every type is at v1).
UPCASTERS: Final = Upcasters()
