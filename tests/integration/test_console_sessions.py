"""Console sessions, CSRF, page access and the access log, in-process over the real stack."""

from __future__ import annotations

import hashlib
import re
import time
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.integration.api_rig import ApiStack, event, eventually, identification

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "every form carries its token"
    return found.group(1)


def _client(stack: ApiStack) -> TestClient:
    """A second client on the same app: its own cookie jar, no redirects followed."""
    return TestClient(stack.client.app, follow_redirects=False)


def _sign_in(stack: ApiStack, agency: str) -> TestClient:
    client = _client(stack)
    form = client.get("/console/login")
    csrf = _csrf(form.text)
    token = stack.pipeline.tokens[agency]
    signed = client.post("/console/login", data={"token": token, "csrf": csrf})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console"
    return client


def _session_rows(stack: ApiStack) -> list[tuple[bytes, str]]:
    with stack.context.core.connect() as conn:
        rows = conn.execute(sa.text("SELECT id_sha256, agency_id FROM haven_core.console_sessions"))
        return [(bytes(r[0]), r[1]) for r in rows]


def test_sign_in_stores_only_the_hash_and_needs_the_form_token(stack: ApiStack) -> None:
    client = _client(stack)
    assert client.get("/console").headers["location"] == "/console/login"
    form = client.get("/console/login")
    token = stack.pipeline.tokens["gr_audit"]
    forged = client.post("/console/login", data={"token": token, "csrf": "forged"})
    assert forged.status_code == 400, "the double-submit token must match"
    csrf = _csrf(form.text)
    wrong = client.post("/console/login", data={"token": "hvn_wrong", "csrf": csrf})
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    client = _sign_in(stack, "gr_audit")
    session_id = client.cookies["haven_console"]
    stored = _session_rows(stack)
    assert (hashlib.sha256(session_id.encode()).digest(), "gr_audit") in stored
    assert all(session_id.encode() not in digest for digest, _ in stored)
    home = client.get("/console")
    assert home.status_code == 200
    assert token not in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_the_session_cookie_is_httponly_strict_and_ends_on_sign_out(stack: ApiStack) -> None:
    client = _client(stack)
    form = client.get("/console/login")
    csrf = _csrf(form.text)
    token = stack.pipeline.tokens["gr_ngo"]
    signed = client.post("/console/login", data={"token": token, "csrf": csrf})
    set_cookie = next(
        h for h in signed.headers.get_list("set-cookie") if h.startswith("haven_console=")
    )
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie
    assert "Path=/console" in set_cookie
    page = client.get("/console")
    session_csrf = _csrf(page.text)
    assert client.post("/console/logout", data={"csrf": "x"}).status_code == 400
    out = client.post("/console/logout", data={"csrf": session_csrf})
    assert out.headers["location"] == "/console/login"
    client.cookies.set("haven_console", signed.cookies["haven_console"], path="/console")
    assert client.get("/console").status_code == 303, "deleted server-side"


def test_an_expired_session_signs_out(stack: ApiStack) -> None:
    client = _sign_in(stack, "gr_coord")
    digest = hashlib.sha256(client.cookies["haven_console"].encode()).digest()
    with stack.context.core.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE haven_core.console_sessions SET expires_at = now() - interval '1 second'"
                " WHERE id_sha256 = :h"
            ),
            {"h": digest},
        )
    assert client.get("/console").headers["location"] == "/console/login"


def test_pages_by_agency_type_and_the_trail_in_the_access_log(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())
    posted = stack.post(
        "gr_ngo", event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    )
    assert posted.status_code == 202
    eventually(lambda: stack.get("gr_ngo", f"/v1/subjects/{subject}").status_code == 200)
    ngo = _sign_in(stack, "gr_ngo")
    for path in ("/console/audit/chain", "/console/indicators", "/console/ops/agencies"):
        refused = ngo.get(path)
        assert refused.status_code == 403, path
        assert "Not allowed" in refused.text
    assert ngo.get("/console/risk-register").status_code == 200
    auditor = _sign_in(stack, "gr_audit")
    trail = auditor.get("/console/audit/trail", params={"subject": subject})
    assert trail.status_code == 200
    assert "haven.victim.identified.v1" in trail.text
    assert "Alina" not in trail.text
    bad = auditor.get("/console/audit/trail", params={"subject": "Alina Zzyzxsecret"})
    assert bad.status_code == 400
    assert "Alina" not in bad.text, "a malformed filter is not echoed into the page"
    log = stack.get("gr_audit", "/v1/access-log", subject_id=subject).json()["items"]
    assert ("gr_audit", "console_trail") in {(e["agency_id"], e["endpoint"]) for e in log}


def test_verify_runs_in_the_background_and_is_stored(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())  # the chain holds at least this event, whatever ran before
    posted = stack.post(
        "gr_ngo", event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    )
    assert posted.status_code == 202
    eventually(lambda: stack.get("gr_ngo", f"/v1/subjects/{subject}").status_code == 200)
    auditor = _sign_in(stack, "gr_audit")
    chain = auditor.get("/console/audit/chain")
    csrf = _csrf(chain.text)
    assert auditor.post("/console/audit/verify", data={"csrf": "nope"}).status_code == 400
    started = auditor.post("/console/audit/verify", data={"csrf": csrf})
    assert started.headers["location"] == "/console/audit/chain"
    deadline = time.monotonic() + 60
    while 'id="verdict"' not in (page := auditor.get("/console/audit/chain").text) or (
        'id="running"' in page
    ):
        assert time.monotonic() < deadline, "verify did not finish"
        time.sleep(0.5)
    assert 'class="verdict holds"' in page
    with stack.context.core.connect() as conn:
        run = conn.execute(
            sa.text(
                "SELECT status, entries_done, entries_total, started_by"
                " FROM haven_core.verify_runs ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert run.status == "holds"
    assert run.entries_done == run.entries_total > 0
    assert run.started_by == "gr_audit"
