"""Semantic checks of the access rules (rule 2) and lawful bases (rule 3) of a policy.

Each valid rule becomes a ``Grant``, which ``policy_guards`` checks against the
confidential fields and prohibitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from projectors.policy.checks import (
    SEALED,
    FieldChecker,
    as_dict,
    as_list,
    join,
    strings,
)
from projectors.policy.source import DataPath
from projectors.policy.vocabulary import AGENCY_TYPES, DATA_PREFIX, PURPOSES


@dataclass(frozen=True)
class Grant:
    """Fields an agency type may get through one rule."""

    agency_type: str
    family: str
    fields: frozenset[str]
    condition: str | None
    path: DataPath


def known_agency_type(name: Any) -> bool:
    """Whether ``name`` is an agency type of docs/rules.md."""
    return isinstance(name, str) and name in AGENCY_TYPES


class RuleChecker(FieldChecker):
    """Checks of access rules and lawful bases, collecting their grants."""

    def __init__(
        self,
        known_fields: Mapping[str, frozenset[str]],
        known_personal: Mapping[str, frozenset[str]],
        known_event_types: frozenset[str] | None,
    ) -> None:
        super().__init__(known_fields, known_personal, known_event_types)
        self.grants: list[Grant] = []
        self.ceiling: defaultdict[tuple[str, str], frozenset[str]] = defaultdict(frozenset)

    def access(self, agency_types: Any) -> None:
        """Rule 2: purposes of each rule are the type's own; selections are valid."""
        for agency_type, spec in as_dict(agency_types).items():
            if not known_agency_type(agency_type):
                continue
            spec = as_dict(spec)
            own = {p for _, p in strings(spec.get("purposes")) if p in PURPOSES}
            for i, rule in enumerate(as_list(spec.get("access"))):
                path: DataPath = ("agency_types", agency_type, "access", i)
                if not own:
                    self.add(
                        path,
                        f"{agency_type} has no purposes, so no consent can ever open this rule",
                    )
                for j, purpose in strings(as_dict(rule).get("purposes")):
                    if purpose in PURPOSES and own and purpose not in own:
                        self.add(
                            (*path, "purposes", j),
                            f"purpose {purpose!r} is not one of "
                            f"the purposes of {agency_type} ({join(own)})",
                        )
                selected = self.selection(path, rule)
                if selected is not None:
                    condition = as_dict(rule).get("condition")
                    family, fields = selected
                    cond = condition if isinstance(condition, str) else None
                    self.grants.append(Grant(agency_type, family, fields, cond, path))
                    self.ceiling[agency_type, family] |= fields

    def lawful_bases(self, bases: Any) -> None:
        """Rule 3: valid ids, selections, conditions and recipients within their ceiling."""
        first: dict[str, int] = {}
        for i, basis in enumerate(as_list(bases)):
            path: DataPath = ("lawful_bases", i)
            basis = as_dict(basis)
            basis_id = basis.get("id")
            if isinstance(basis_id, str) and first.setdefault(basis_id, i) != i:
                self.add(
                    (*path, "id"),
                    f"duplicate lawful basis id {basis_id!r} (first at "
                    f"lawful_bases[{first[basis_id]}])",
                )
            selected = self.selection(path, basis)
            if selected is None:
                continue
            family, fields = selected
            when = as_dict(basis.get("when")).get("field")
            if isinstance(when, str):
                self.field((*path, "when", "field"), family, when, personal=False, why=SEALED)
            recipients = as_dict(basis.get("recipients"))
            source = recipients.get("jurisdiction_from")
            if isinstance(source, str) and source.startswith(DATA_PREFIX):
                name = source.removeprefix(DATA_PREFIX)
                where = (*path, "recipients", "jurisdiction_from")
                self.field(where, family, name, personal=False, why=SEALED)
            for j, agency_type in strings(recipients.get("agency_types")):
                if not known_agency_type(agency_type):
                    continue
                extra = fields - self.ceiling[agency_type, family]
                if extra:
                    self.add(
                        (*path, "recipients", "agency_types", j),
                        f"gives {agency_type} "
                        f"{join(extra)} of family {family}, beyond its own access rules "
                        "(a lawful basis may not widen what agency_types allow)",
                    )
                self.grants.append(Grant(agency_type, family, fields, None, path))
