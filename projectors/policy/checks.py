"""Semantic checks of a policy document, beyond what its JSON Schema can say.

They run on the plain data even when the schema found errors, skipping every
part of the wrong shape (the schema reports those), so that one run reports
every problem. This module checks families and field selections;
``policy_rules`` the access rules and lawful bases; ``policy_guards`` the
confidential fields and prohibitions, and runs them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from projectors.policy.source import DataPath
from projectors.policy.vocabulary import NOT_SHAREABLE

SEALED = "personal values are sealed, so no rule can read them"


@dataclass(frozen=True)
class Finding:
    """One semantic problem at a data path (at the key itself with ``at_key``)."""

    path: DataPath
    message: str
    at_key: bool = False


def as_dict(value: Any) -> dict[Any, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def strings(value: Any) -> list[tuple[int, str]]:
    """The (index, item) pairs of a list that are strings."""
    return [(i, item) for i, item in enumerate(as_list(value)) if isinstance(item, str)]


def join(names: Any) -> str:
    """Sorted, comma-separated names."""
    return ", ".join(sorted(str(name) for name in names)) or "none"


class FieldChecker:
    """Families and field selections: the part every other check builds on."""

    def __init__(
        self,
        known_fields: Mapping[str, frozenset[str]],
        known_personal: Mapping[str, frozenset[str]],
        known_event_types: frozenset[str] | None,
    ) -> None:
        self.known_fields = known_fields
        self.known_personal = known_personal
        self.known_event_types = known_event_types
        self.findings: list[Finding] = []
        self.fields: dict[str, frozenset[str]] = {}
        self.personal: dict[str, frozenset[str]] = {}
        self.declared: set[str] = set()

    def add(self, path: DataPath, message: str, *, at_key: bool = False) -> None:
        """Record a finding."""
        self.findings.append(Finding(path, message, at_key))

    def field(
        self,
        path: DataPath,
        family: str,
        name: str,
        *,
        personal: bool | None,
        why: str = "to share it, list it under personal_fields",
    ) -> bool:
        """Check that ``name`` is a field of ``family`` (and personal, or not, if asked)."""
        known = self.fields[family]
        if name not in known:
            close = get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; fields: {join(known)}"
            self.add(path, f"unknown field {name!r} of family {family}{hint}")
        elif personal is False and name in self.personal[family]:
            self.add(path, f"{name!r} is a personal field of family {family}: {why}")
        elif personal is True and name not in self.personal[family]:
            self.add(
                path, f"{name!r} is not a personal field of family {family}: list it under fields"
            )
        else:
            return True
        return False

    def families(self, families: Any) -> None:
        """Check ``families``: known names, shareable event types, personal fields."""
        owner: dict[str, str] = {}
        for name, spec in as_dict(families).items():
            path = ("families", name)
            self.declared.add(name)
            if name not in self.known_fields:
                known = join(self.known_fields)
                self.add(path, f"unknown family {name!r}; known families: {known}", at_key=True)
                continue
            spec = as_dict(spec)
            for i, event_type in strings(spec.get("event_types")):
                where = (*path, "event_types", i)
                if event_type in NOT_SHAREABLE:
                    why = NOT_SHAREABLE[event_type]
                    self.add(where, f"event type {event_type!r} cannot be shared: {why}")
                elif self.known_event_types is not None and (
                    event_type not in self.known_event_types
                ):
                    self.add(where, f"unknown event type {event_type!r}")
                elif owner.setdefault(event_type, name) != name:
                    self.add(
                        where,
                        f"event type {event_type!r} is already in family {owner[event_type]!r}",
                    )
            self.fields[name], self.personal[name] = self.known_fields[name], frozenset()
            listed = strings(spec.get("personal_fields"))
            for i, field in listed:
                if self.field((*path, "personal_fields", i), name, field, personal=None):
                    self.personal[name] |= {field}
            for field in sorted(self.known_personal.get(name, frozenset()) - self.personal[name]):
                self.add(
                    (*path, "personal_fields"),
                    f"field {field!r} of family {name} is "
                    "personal (sealed) in the event contract: list it in personal_fields",
                )
            if isinstance(key := spec.get("key_field"), str):
                self.field((*path, "key_field"), name, key, personal=False, why=SEALED)

    def family(self, path: DataPath, family: Any) -> str | None:
        """The family name at ``path`` if it is one of this policy's families."""
        if not isinstance(family, str) or family not in self.declared:
            if isinstance(family, str):
                self.add(
                    path, f"unknown family {family!r}; this policy's families: {join(self.fields)}"
                )
            return None
        return family if family in self.fields else None

    def selection(self, path: DataPath, spec: Any) -> tuple[str, frozenset[str]] | None:
        """Check a field selection; return its family and the field names it selects."""
        spec = as_dict(spec)
        family = self.family((*path, "family"), spec.get("family"))
        if family is None:
            return None
        chosen: set[str] = set()
        plain = self.fields[family] - self.personal[family]
        for key, personal in (("fields", False), ("personal_fields", True)):
            value = spec.get(key)
            if value == "all":
                chosen |= self.personal[family] if personal else plain
            for i, name in strings(value):
                if self.field((*path, key, i), family, name, personal=personal):
                    chosen.add(name)
        if all(spec.get(key) in (None, []) for key in ("fields", "personal_fields")):
            self.add(path, "selects no field: give fields or personal_fields")
        return family, frozenset(chosen)
