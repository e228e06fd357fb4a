"""Load the data-sharing policy, reporting every error with its location.

``load_policy`` parses the YAML once (keeping positions), then reports
duplicate keys, every JSON-Schema error and every semantic error (unknown
families, fields, event types, purposes outside a type's own, rules that
contradict the confidential fields or prohibitions) in one ``PolicyError``,
each as ``file:line:column: path: message``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from projectors.policy.guards import check_policy
from projectors.policy.model import Policy
from projectors.policy.schema import schema_findings
from projectors.policy.source import (
    Position,
    YamlSyntaxError,
    compose,
    format_path,
    locate,
    position_of,
)
from projectors.policy.vocabulary import DOMAIN_EVENT_TYPES, DOMAIN_FIELDS, DOMAIN_PERSONAL_FIELDS


@dataclass(frozen=True)
class PolicyIssue:
    """One problem of a policy file: ``location`` is ``file:line:column``."""

    location: str
    path: str
    message: str

    @property
    def line(self) -> int:
        """The 1-based line of the offending node."""
        return int(self.location.rsplit(":", 2)[1])

    @property
    def column(self) -> int:
        """The 1-based column of the offending node."""
        return int(self.location.rsplit(":", 2)[2])

    def __str__(self) -> str:
        return (
            f"{self.location}: {self.path}: {self.message}"
            if self.path
            else (f"{self.location}: {self.message}")
        )


class PolicyError(Exception):
    """A policy file is invalid; ``issues`` lists every problem in file order."""

    def __init__(self, issues: Sequence[PolicyIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def default_policy_path() -> Path:
    """The committed default policy, ``contracts/policy/default-policy.yaml``."""
    return Path(__file__).resolve().parents[2] / "contracts" / "policy" / "default-policy.yaml"


def load_policy(
    path: Path,
    *,
    known_fields: Mapping[str, frozenset[str]] | None = None,
    known_personal_fields: Mapping[str, frozenset[str]] | None = None,
    known_event_types: frozenset[str] | None = DOMAIN_EVENT_TYPES,
) -> Policy:
    """Load and validate the policy file at ``path``.

    Raises ``PolicyError`` listing every problem, or ``OSError`` if the file
    cannot be read. See :func:`load_policy_text` for the keyword arguments.
    """
    return load_policy_text(
        path.read_text(encoding="utf-8"),
        str(path),
        known_fields=known_fields,
        known_personal_fields=known_personal_fields,
        known_event_types=known_event_types,
    )


def load_policy_text(
    text: str,
    source_name: str,
    *,
    known_fields: Mapping[str, frozenset[str]] | None = None,
    known_personal_fields: Mapping[str, frozenset[str]] | None = None,
    known_event_types: frozenset[str] | None = DOMAIN_EVENT_TYPES,
) -> Policy:
    """Load and validate a policy from YAML text (raises ``PolicyError``).

    ``known_fields`` maps each family to all its ``data`` fields and
    ``known_personal_fields`` to those that are sealed (defaults: docs/rules.md's
    tables); ``known_event_types`` are the types a family may hold (None: any).
    """

    def issue(where: Position, path: str, message: str) -> tuple[Position, PolicyIssue]:
        return where, PolicyIssue(f"{source_name}:{where.line}:{where.column}", path, message)

    try:
        document = compose(text)
    except YamlSyntaxError as error:
        raise PolicyError([issue(error.position, "", error.message)[1]]) from None
    found = [
        issue(position_of(key), format_path(path), f"duplicate key {path[-1]!r} (first at "
              f"line {position_of(first).line}); YAML would silently keep only the last value")
        for path, key, first in document.duplicates
    ]  # fmt: skip
    findings = schema_findings(document.data) + check_policy(
        document.data,
        DOMAIN_FIELDS if known_fields is None else known_fields,
        DOMAIN_PERSONAL_FIELDS if known_personal_fields is None else known_personal_fields,
        known_event_types,
    )
    for finding in findings:
        where = locate(document.root, finding.path, key=finding.at_key)
        found.append(issue(where, format_path(finding.path), finding.message))
    if not found:
        try:
            return Policy.model_validate(document.data)
        except ValidationError as error:  # the schema should have caught it: report anyway
            for detail in error.errors():
                path = tuple(detail["loc"])
                found.append(issue(locate(document.root, path), format_path(path), detail["msg"]))
    ordered = sorted(dict.fromkeys(found), key=lambda item: (item[0].line, item[0].column))
    raise PolicyError([found_issue for _, found_issue in ordered])
