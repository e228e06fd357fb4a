"""What the demo found, for people (a checks table) and for tests (``--report`` JSON).

The JSON holds which fields each agency could read, never the values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from services.demo.checks import Outcome


@dataclass
class Report:
    """Everything the run established: per step, and at the end."""

    subject: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    #: End-of-run checks (audit, log, DLQ), by description.
    verdicts: dict[str, bool] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every story check and every end-of-run check held."""
        return all(o.held for o in self.outcomes) and all(self.verdicts.values())

    def to_json(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "ok": self.ok,
            "subject": self.subject,
            "steps": self.steps,
            "checks": [o.to_json() for o in self.outcomes],
            "verdicts": self.verdicts,
            **self.facts,
        }

    def write(self, path: Path) -> None:
        """Write the JSON form to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2, default=str), encoding="utf-8")


def _mark(held: bool, wrong: str = "") -> str:
    return "[green]✓ held[/green]" if held else f"[red]✗ FAILED[/red] {wrong}".strip()


def checks_table(report: Report) -> Table:
    """One line per check: expected agencies, and whether the read models agreed."""
    table = Table("step", "check", "agencies", "", title="checks", title_justify="left")
    for outcome in report.outcomes:
        expected = ", ".join(sorted(outcome.check.expected)) or "none"
        wrong = ", ".join(sorted(outcome.actual ^ outcome.check.expected))
        step = outcome.step.split(" · ")[0]
        table.add_row(step, outcome.check.text, expected, _mark(outcome.held, f"({wrong})"))
    for text, held in report.verdicts.items():
        table.add_row("end", text, "", _mark(held))
    return table
