"""Semantic checks that no grant breaks a confidential field or a prohibition,
and :func:`check_policy`, which runs every semantic check of a policy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from projectors.policy.checks import Finding, as_dict, as_list, join, strings
from projectors.policy.rules import Grant, RuleChecker
from projectors.policy.source import DataPath


class GuardChecker(RuleChecker):
    """Every semantic check of a policy document."""

    def confidential(self, entries: Any) -> None:
        """No grant gives a confidential field to anyone outside ``visible_to``."""
        for i, entry in enumerate(as_list(entries)):
            path: DataPath = ("confidential_fields", i)
            entry = as_dict(entry)
            family = self.family((*path, "family"), entry.get("family"))
            field = entry.get("field")
            if family is None or not isinstance(field, str):
                continue
            if not self.field((*path, "field"), family, field, personal=None):
                continue
            visible = as_dict(entry.get("visible_to"))
            types = {name for _, name in strings(visible.get("agency_types"))}
            conditions = {name for _, name in strings(visible.get("conditions"))}
            for grant in self.grants:
                if (
                    grant.family == family
                    and field in grant.fields
                    and grant.agency_type not in types
                    and grant.condition not in conditions
                ):
                    self.add(
                        self._where(grant, field),
                        f"gives {grant.agency_type} the "
                        f"confidential field {field!r} of family {family}, visible only "
                        f"to {join(types | conditions)}",
                    )

    def prohibitions(self, entries: Any) -> None:
        """No grant gives a prohibited field to a prohibited agency type."""
        for i, entry in enumerate(as_list(entries)):
            entry = as_dict(entry)
            denied: dict[str, frozenset[str]] = defaultdict(frozenset)
            for j, spec in enumerate(as_list(entry.get("deny"))):
                selected = self.selection(("prohibitions", i, "deny", j), spec)
                if selected is not None:
                    denied[selected[0]] |= selected[1]
            types = {name for _, name in strings(entry.get("agency_types"))}
            name = entry.get("id", f"prohibitions[{i}]")
            for grant in self.grants:
                if grant.agency_type in types and (clash := grant.fields & denied[grant.family]):
                    self.add(
                        self._where(grant, *clash),
                        f"gives {grant.agency_type} "
                        f"{join(clash)} of family {grant.family}, which prohibition "
                        f"{name!r} denies",
                    )

    def _where(self, grant: Grant, *fields: str) -> DataPath:
        personal = any(field in self.personal[grant.family] for field in fields)
        return (*grant.path, "personal_fields" if personal else "fields")


def check_policy(
    data: Any,
    known_fields: Mapping[str, frozenset[str]],
    known_personal: Mapping[str, frozenset[str]],
    known_event_types: frozenset[str] | None,
) -> list[Finding]:
    """Every semantic problem of a policy document (plain data from YAML)."""
    checker = GuardChecker(known_fields, known_personal, known_event_types)
    document = as_dict(data)
    checker.families(document.get("families"))
    checker.access(document.get("agency_types"))
    checker.lawful_bases(document.get("lawful_bases"))
    checker.confidential(document.get("confidential_fields"))
    checker.prohibitions(document.get("prohibitions"))
    return checker.findings
