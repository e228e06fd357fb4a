"""The oversight console in headless Chromium against one ``haven up`` on a scratch data dir.

Auditor: the chain holds, one ledger row is tampered with through SQL, verify
run from the page names the break; a withdrawn subject's trail shows the
erasure receipt.  Coordinator: a chart with a suppressed month.  NGO: refused
the auditor pages (403 page).  Every page's HTML is checked for the scenario's
personal values and the tokens; screenshots go to ``artifacts/console/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text

from events.topics import inbox_topic
from services.scenarios.builders import cloudevent
from tests.e2e.test_haven_up import _add_agency, _env, _haven_up, _wait_until

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
WIDTHS = {"desktop": (1280, 900), "360": (360, 780)}
BATCH = {"content-type": "application/cloudevents-batch+json"}


@dataclass
class Scenario:
    """The running console, the agencies' tokens and the story's subjects."""

    base: str
    database_url: str
    tokens: dict[str, str]
    november: list[str]
    october: list[str]
    withdrawn: str
    personal: list[str]


def _event(agency: str, kind: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return cloudevent(
        agency=agency,
        jurisdiction="GR",
        event_type=kind,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def _story(subject: str, month: str, index: int, personal: list[str]) -> list[dict[str, Any]]:
    """Identified, consent to the coordinator, identified again (a grant does not back-fill)."""
    name, contact = f"Vesnaria Quolltrip {index}x", f"Hollowmere Lane {index}q"
    personal += [name, contact]
    identified = {
        "identified_at": f"2026-{month}-0{1 + index % 8}T09:30:00Z",
        "nationality": ["UA"],
        "exploitation_types": ["forced_labour"],
        "indicators": [],
        "is_minor": index == 0,
        "languages": ["uk"],
        "personal": {"full_name": name, "contact": contact},
    }
    grant = {
        "consent_id": f"c-{index}",
        "granted_at": datetime.now(UTC).isoformat(),
        "recipients": {"agencies": ["gr_coord"]},
        "purposes": ["care", "protection", "statistics"],
    }
    return [
        _event("gr_ngo", "haven.victim.identified.v1", subject, identified),
        _event("gr_ngo", "haven.consent.granted.v1", subject, grant),
        _event("gr_ngo", "haven.victim.identified.v1", subject, identified),
    ]


def _publish(base: str, token: str, batch: list[dict[str, Any]]) -> None:
    headers = BATCH | {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{base}/v1/events", json=batch, headers=headers, timeout=30)
    assert response.status_code == 202, response.text


def _dead_letter(bootstrap: str, base: str, token: str) -> None:
    """One input refused at the door (422) and one by the sealer (to the DLQ)."""
    broken = httpx.post(
        f"{base}/v1/events",
        content=b"{not json",
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert broken.status_code == 422
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","))
    producer.send(inbox_topic("haven", "gr_ngo"), b"{not json either").get(timeout=30)
    producer.close()


def _play(base: str, tokens: dict[str, str]) -> Scenario:
    personal: list[str] = []
    november = [str(uuid.uuid4()) for _ in range(7)]
    october = [str(uuid.uuid4()) for _ in range(2)]
    batch: list[dict[str, Any]] = []
    for index, subject in enumerate(november):
        batch += _story(subject, "11", index, personal)
    for index, subject in enumerate(october, start=len(november)):
        batch += _story(subject, "10", index, personal)
    note = "Corvellan safehouse near Thistleby"
    personal.append(note)
    risk = {
        "assessed_at": datetime.now(UTC).isoformat(),
        "level": "high",
        "factors": ["retaliation"],
        "immediate_needs": ["emergency_shelter"],
        "review_by": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
        "notes": note,
    }
    batch.append(_event("gr_ngo", "haven.risk.assessed.v1", november[1], risk))
    _publish(base, tokens["gr_ngo"], batch)
    coordinator = {"Authorization": f"Bearer {tokens['gr_coord']}"}
    for subject in november + october:
        url = f"{base}/v1/subjects/{subject}"
        _wait_until(lambda u=url: httpx.get(u, headers=coordinator).status_code == 200, 90, url)
    withdrawn = november[-1]
    withdrawal = {"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"}
    withdrawal["erase_personal_data"] = True  # type: ignore[assignment]
    _publish(
        base,
        tokens["gr_ngo"],
        [_event("gr_ngo", "haven.consent.withdrawn.v1", withdrawn, withdrawal)],
    )
    auditor = {"Authorization": f"Bearer {tokens['gr_audit']}"}
    receipts = f"{base}/v1/erasures/{withdrawn}"
    _wait_until(lambda: httpx.get(receipts, headers=auditor).json() != [], 90, "erasure receipt")
    return Scenario(base, "", tokens, november, october, withdrawn, personal)


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    data_dir = Path(tempfile.mkdtemp(prefix="haven-console-"))
    env = _env(data_dir)
    try:
        with _haven_up(data_dir, env) as (_, base):
            kinds = {"gr_ngo": "ngo", "gr_coord": "coordinator", "gr_audit": "auditor"}
            tokens = {agency: _add_agency(env, agency, kind) for agency, kind in kinds.items()}
            state = json.loads((data_dir / "infra" / "state.json").read_text())
            _dead_letter(state["bootstrap_servers"], base, tokens["gr_ngo"])
            played = _play(base, tokens)
            played.database_url = state["database_url"]
            yield played
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _viewport(label: str) -> dict[str, int]:
    width, height = WIDTHS[label]
    return {"width": width, "height": height}


class Console:
    """One signed-in browser context; every page visited is checked and photographed."""

    def __init__(self, browser: Any, scenario: Scenario, agency: str) -> None:
        self.scenario = scenario
        self.context = browser.new_context(viewport=_viewport("desktop"))
        self.page = self.context.new_page()
        self.page.goto(f"{scenario.base}/console")
        assert self.page.url.endswith("/console/login"), "signed out: sent to sign-in"
        self.page.fill("#token", scenario.tokens[agency])
        self.page.click("button[type=submit]")
        assert self.page.url == f"{scenario.base}/console", self.page.url
        cookie = next(c for c in self.context.cookies() if c["name"] == "haven_console")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Strict"
        self.check()

    def check(self) -> str:
        """No personal value and no token in the page or its address."""
        html: str = self.page.content()
        for secret in self.scenario.personal + list(self.scenario.tokens.values()):
            assert secret not in html, f"{secret!r} on {self.page.url}"
            assert secret not in self.page.url
        return html

    def visit(self, path: str, status: int = 200) -> str:
        response = self.page.goto(f"{self.scenario.base}{path}")
        assert response.status == status, (path, response.status)
        return self.check()

    def shoot(self, name: str) -> None:
        """Screenshots at desktop and 360 px widths (full page)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for label, (width, _height) in WIDTHS.items():
            self.page.set_viewport_size(_viewport(label))
            self.page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
            if label == "360":
                scroll = self.page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"{name} is {scroll}px wide at {width}px"
        self.page.set_viewport_size(_viewport("desktop"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser: Any, scenario: Scenario) -> Iterator[Any]:
    opened: list[Console] = []

    def sign_in(agency: str) -> Console:
        opened.append(Console(browser, scenario, agency))
        return opened[-1]

    yield sign_in
    for each in opened:
        each.close()


def _verify_from_the_page(auditor: Console, expect: str) -> None:
    auditor.visit("/console/audit/chain")
    auditor.page.click("#run-verify")
    auditor.page.wait_for_selector(f"#verdict.{expect}", timeout=60_000)
    auditor.check()


def test_auditor_sees_the_chain_hold_then_the_tampered_position(
    console: Any, scenario: Scenario
) -> None:
    auditor = console("gr_audit")
    auditor.shoot("overview-auditor")
    _verify_from_the_page(auditor, "holds")
    assert "BROKEN" not in auditor.page.inner_text("#chains")
    auditor.shoot("chain-holds")
    engine = create_engine(scenario.database_url)
    with engine.begin() as conn:
        topic, partition, offset = conn.execute(
            text(
                "SELECT topic, partition, log_offset FROM haven_core.audit_ledger"
                " WHERE subject_id = :s ORDER BY log_offset LIMIT 1 OFFSET 1"
            ),
            {"s": scenario.october[0]},
        ).one()
        conn.execute(
            text(
                "UPDATE haven_core.audit_ledger SET outcome = 'refused'"
                " WHERE topic = :t AND partition = :p AND log_offset = :o"
            ),
            {"t": topic, "p": partition, "o": offset},
        )
    engine.dispose()
    _verify_from_the_page(auditor, "broken")
    row = auditor.page.locator("#chains tbody tr.broken")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == topic
    assert cells[1] == str(partition)
    assert f"offset {offset} (modified)" in cells[5]
    auditor.shoot("chain-broken")


def test_auditor_trail_shows_the_erasure_receipt_and_is_access_logged(
    console: Any, scenario: Scenario
) -> None:
    auditor = console("gr_audit")
    auditor.visit("/console/audit/trail")
    auditor.page.fill("#subject", scenario.withdrawn)
    auditor.page.press("#subject", "Enter")
    auditor.page.wait_for_selector("#timeline")
    auditor.check()
    timeline = auditor.page.inner_text("#timeline")
    assert "haven.consent.withdrawn.v1" in timeline
    assert auditor.page.locator("li.ev_receipt").count() >= 1
    assert "gr_coord" in auditor.page.inner_text("#recipients")
    auditor.shoot("trail")
    html = auditor.visit(f"/console/audit/access-log?subject={scenario.withdrawn}")
    assert "console_trail" in html
    assert "gr_audit" in html
    auditor.shoot("access-log")
    html = auditor.visit(f"/console/audit/erasures?subject={scenario.withdrawn}")
    assert auditor.page.locator("#receipts tbody tr").count() >= 1
    auditor.shoot("erasures")
    html = auditor.visit("/console/ops/pipeline")
    sealed = auditor.page.locator("#counts dd").first.inner_text()
    assert int(sealed) >= 3 * 9 + 2
    assert auditor.page.locator("#workers tbody tr").count() >= 1
    auditor.shoot("pipeline")
    assert "gateway" in auditor.page.inner_text("#rejected")
    _wait_until(lambda: "gr_ngo" in auditor.visit("/console/ops/dead-letters"), 60, "a dead letter")
    assert "invalid_json" in auditor.page.inner_text("#dead")
    auditor.shoot("dead-letters")
    html = auditor.visit("/console/ops/agencies")
    assert "gr_coord" in html
    assert "indicators" in html
    auditor.shoot("agencies")


def test_coordinator_sees_a_chart_with_a_suppressed_month(console: Any, scenario: Scenario) -> None:
    coordinator = console("gr_coord")
    coordinator.visit("/console/indicators")
    chart = coordinator.page.locator("svg.bars")
    assert chart.count() == 1
    suppressed = chart.locator("g.suppressed")
    assert suppressed.count() == 1, "October has 2 subjects: suppressed"
    assert (suppressed.text_content() or "").strip().startswith("2026-10")
    counted = chart.locator("g.count").text_content() or ""
    assert counted.split() == ["2026-11", "6"], "7 identified, 1 erased"
    october = coordinator.page.locator("table.indicators tr", has_text="2026-10").inner_text()
    assert "2" not in october.replace("2026-10", ""), "never a number for a suppressed month"
    assert "suppressed" in october
    november = coordinator.page.locator("table.indicators tr", has_text="2026-11").inner_text()
    assert "suppressed" in november, "one minor of six: the share is suppressed"
    coordinator.shoot("indicators")
    html = coordinator.visit("/console/risk-register")
    assert scenario.november[1] in html
    assert "high" in html
    coordinator.shoot("risk-register")


def test_ngo_is_refused_the_auditor_pages_and_forms_need_their_token(
    console: Any, scenario: Scenario
) -> None:
    ngo = console("gr_ngo")
    for path in ("/console/audit/chain", "/console/audit/trail", "/console/ops/pipeline"):
        html = ngo.visit(path, status=403)
        assert "Not allowed" in html
    ngo.shoot("forbidden")
    ngo.visit("/console")
    ngo.page.keyboard.press("Tab")
    assert ngo.page.evaluate("document.activeElement.className") == "skip"
    ngo.page.keyboard.press("Tab")
    assert ngo.page.evaluate("document.activeElement.textContent") == "Haven oversight console"
    ngo.page.keyboard.press("Tab")
    ngo.page.keyboard.press("Enter")
    ngo.page.wait_for_url("**/console/risk-register")  # the navigation works by keyboard
    cookies = {c["name"]: c["value"] for c in ngo.context.cookies()}
    forged = httpx.post(f"{scenario.base}/console/logout", cookies=cookies, data={"csrf": "x"})
    assert forged.status_code == 400, "a form without the session's token is refused"
    ngo.page.click("text=Sign out")
    assert ngo.page.url.endswith("/console/login")
    gone = httpx.get(f"{scenario.base}/console", cookies=cookies)
    assert gone.status_code == 303, "the session ended server-side"
    ngo.page.fill("#token", "not-a-token")
    ngo.page.click("button[type=submit]")
    assert "not valid" in ngo.check()
    ngo.shoot("sign-in")
