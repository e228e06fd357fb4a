"""What the story expects each step to leave behind, checked against the read models.

A check names the set of agencies that must see something; the demo fails
(exit 1) when the read models disagree, so ``haven demo`` is also a test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.demo import cast
from services.demo.views import ERASED_TEXT, AgencyView, Views

Seen = Callable[[AgencyView], bool]


@dataclass(frozen=True)
class Check:
    """``who(views) == expected``, described for people."""

    text: str
    seen: Seen
    expected: frozenset[str]

    def actual(self, views: Views) -> frozenset[str]:
        """The agencies for which ``seen`` holds."""
        return frozenset(agency for agency, view in views.items() if self.seen(view))

    def holds(self, views: Views) -> bool:
        """The read models match the expectation."""
        return self.actual(views) == self.expected


@dataclass(frozen=True)
class Outcome:
    """A check's result after one step."""

    step: str
    check: Check
    actual: frozenset[str]

    @property
    def held(self) -> bool:
        """Expected and actual agree."""
        return self.actual == self.check.expected

    def to_json(self) -> dict[str, object]:
        """The ``--report`` form."""
        return {
            "step": self.step,
            "check": self.check.text,
            "held": self.held,
            "expected": sorted(self.check.expected),
            "actual": sorted(self.actual),
        }


def only(text: str, seen: Seen, agencies: Iterable[str]) -> Check:
    """Exactly ``agencies`` satisfy ``seen``."""
    return Check(text, seen, frozenset(agencies))


def sees_subject(view: AgencyView) -> bool:
    """Has a ``subjects`` row about the survivor."""
    return view.sees_subject


def reads_name(view: AgencyView) -> bool:
    """Can read the survivor's name."""
    return view.name not in (None, ERASED_TEXT)


def reads_correct_birth_date(view: AgencyView) -> bool:
    """Reads her corrected date of birth."""
    return view.date_of_birth == cast.SURVIVOR["date_of_birth"]


def reads_wrong_birth_date(view: AgencyView) -> bool:
    """Still reads the wrong date of birth that was corrected."""
    return view.date_of_birth == cast.WRONG_DATE_OF_BIRTH


def reads_location(view: AgencyView) -> bool:
    """Can read the shelter's address."""
    return view.location not in (None, ERASED_TEXT)


def sees_placement(view: AgencyView) -> bool:
    """Knows of the placement (with or without its address)."""
    return bool(view.placements)


def holds_order(view: AgencyView) -> bool:
    """Has the protective order."""
    return bool(view.orders)


def reads_respondent(view: AgencyView) -> bool:
    """Can read whom the order binds."""
    return view.respondent not in (None, ERASED_TEXT)


def sees_critical(view: AgencyView) -> bool:
    """Knows the survivor is at critical risk."""
    return (view.subject or {}).get("risk_level") == "critical"


def reads_notes(view: AgencyView) -> bool:
    """Can read the risk assessment's free-text notes."""
    return view.notes not in (None, ERASED_TEXT)


def immigration_minimum(view: AgencyView) -> bool:
    """Sees the survivor's nationality and minority, and nothing else about them."""
    nothing_else = not (view.placements or view.orders or view.risk or view.name)
    return view.subject_fields == {"nationality", "is_minor"} and nothing_else


def order_without_subject(view: AgencyView) -> bool:
    """Holds the order but no ``subjects`` row (orders alone create none)."""
    return bool(view.orders) and not view.sees_subject
