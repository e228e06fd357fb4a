"""The demo run: register agencies, play the story step by step beside CTDC background
traffic, show each step's before/after views and erasure receipts, then audit."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from projectors.keys.keyring import Keyring
from services.demo import cast, disclosure, erasure
from services.demo.background import Background, background
from services.demo.checks import Outcome
from services.demo.finale import finish
from services.demo.narration import why
from services.demo.pipeline import PREFIX, DemoFailed, DemoPipeline
from services.demo.records import short
from services.demo.report import Report
from services.demo.story import Sent, Step, story, story_start
from services.demo.view_table import step_table
from services.demo.views import Views, snapshot
from services.scenarios.ctdc import CtdcCase
from services.scenarios.synthetic import cases_or_synthetic


def pick_survivor(cases: list[CtdcCase]) -> CtdcCase:
    """A Ukrainian woman of 24-26 from the CTDC records (forced labour, like all of them)."""
    profile = (("UA",), "female", "24-26")
    found = (c for c in cases if (c.nationality, c.gender, c.age_band) == profile)
    return next(found, cases[0])


class DemoRun:
    """One run of the demo against live infrastructure."""

    def __init__(
        self, console: Console, endpoints: Endpoints, engine: Engine, master_key: bytes
    ) -> None:
        self.console, self.engine, self.endpoints = console, engine, endpoints
        self.pipeline = DemoPipeline(endpoints, engine, master_key)
        self.keys = Keyring(engine, master_key, cache_ttl_s=0).key
        self.subject = str(uuid.uuid4())
        self.report = Report(self.subject)
        self.sent: list[str] = []
        self.views: Views = {}
        self.cases_source = "CTDC records"

    def run(self, background_events: int) -> Report:
        """Everything, in order; returns the report (raises DemoFailed on a broken step)."""
        cases, self.cases_source = cases_or_synthetic(max(background_events, 50))
        traffic = background(random.Random(7).sample(cases, len(cases)), background_events)
        self.pipeline.register(cast.AGENCIES)
        self.console.print(_agencies_table(traffic, self.cases_source))
        self.pipeline.start()
        try:
            steps = story(pick_survivor(cases), self.subject, story_start(datetime.now(UTC)))
            for step, extra in zip(steps, traffic.slices(len(steps)), strict=True):
                for agency, event in extra:
                    self.pipeline.send(agency, event)
                    self.sent.append(event["id"])
                self._step(step)
            finish(self)
        finally:
            self.pipeline.stop()
        return self.report

    def _step(self, step: Step) -> None:
        """Send the step's events, wait until applied, show and check what changed."""
        self.console.rule(f"[bold]{step.title}")
        self.console.print(f"[dim]{why(step.title)}[/dim]")
        refused = self._apply(step)
        before = self.views
        self.views = snapshot(self.engine, [a.id for a in cast.AGENCIES], self.subject, self.keys)
        watched = {agency: self.views[agency] for agency in cast.WATCHERS}
        self.console.print(step_table("what each agency sees (before → after)", before, watched))
        outcomes = [Outcome(step.title, c, c.actual(self.views)) for c in step.checks]
        self.report.outcomes += outcomes
        entry: dict[str, object] = {
            "title": step.title,
            "views": {agency: view.to_json() for agency, view in self.views.items()},
            "refused": sorted(refused.values()),
        }
        if step.withdrawal:
            entry |= self._erasure(step.sends[0].event["id"])
        if step.disclosure_by is not None:
            entry["disclosure"] = self._disclosure(step.disclosure_by)
        self.report.steps.append(entry)

    def _disclosure(self, agency_id: str) -> dict[str, object]:
        found = disclosure.ask(self.engine, agency_id, self.subject)
        self.console.print(disclosure.disclosure_table(found))
        holders = sorted(h["agency_id"] for h in found["holders"])
        holding = sorted(a for a, view in self.views.items() if view.timeline)
        self.report.verdicts["the disclosure names every agency holding her rows"] = (
            holders == holding
        )
        return {
            "requested_by": agency_id,
            "holders": holders,
            "rectifications": len(found["rectifications"]),
            "erasures": len(found["erasures"]),
        }

    def _apply(self, step: Step) -> dict[str, str]:
        """Send, wait until the engine applied each event; the refusals, as expected."""
        for sent in step.sends:
            self.pipeline.send(sent.agency, sent.event)
            self.sent.append(sent.event["id"])
        self.pipeline.flush()
        ids = [sent.event["id"] for sent in step.sends]
        self.pipeline.wait_applied(ids, step.title)
        refused = self.pipeline.refusals(ids)
        for sent in step.sends:
            self._narrate(sent, refused.get(sent.event["id"]))
        return refused

    def _narrate(self, sent: Sent, refusal: str | None) -> None:
        if refusal != sent.refusal:
            raise DemoFailed(f"{sent.agency}'s {sent.event['type']}: refusal {refusal!r}")
        verdict = f"[red]refused: {refusal}[/red]" if refusal else "[green]applied[/green]"
        where = f"{sent.agency} ({cast.BY_ID[sent.agency].name})"
        self.console.print(f"  [cyan]{where}[/cyan] {sent.caption} → {verdict}")

    def _erasure(self, withdrawal_id: str) -> dict[str, object]:
        self.pipeline.wait_relayed()
        found = erasure.receipts(self.engine, withdrawal_id)
        title = f"erasure receipt of withdrawal {withdrawal_id[:8]}…"
        self.console.print(erasure.receipt_table(found, self.subject, title))
        told = sorted({r.agency for r in found if r.erased and r.agency != "*"})
        notices = erasure.read_notices(self.pipeline.bootstrap, PREFIX, told, withdrawal_id)
        self.console.print(erasure.notices_table(notices, PREFIX))
        return {"receipt": [r.to_json() for r in found], "notices": notices}


def _agencies_table(traffic: Background, source: str) -> Table:
    table = Table("agency", "type", "country", "name", title="registered agencies")
    table.title_justify = "left"
    for agency in cast.AGENCIES:
        table.add_row(agency.id, agency.type, agency.country, agency.name)
    kinds = ", ".join(f"{n} {short(kind)}" for kind, n in sorted(traffic.kinds.items()))
    table.caption = f"background: {len(traffic.events)} events from {traffic.cases} {source}"
    table.caption += f" ({kinds}), sent alongside the story"
    return table
