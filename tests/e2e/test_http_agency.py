"""An HTTP-only agency under ``haven up``: erasure notices by polling and by webhook.

The webhook endpoint (a local server on 127.0.0.1) fails at first: Haven
retries with backoff; ``haven up`` is stopped and started again while the
delivery is still failing; the endpoint then accepts, and the notice
arrives once, signed.  Nothing is lost across the restart.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.scenarios.builders import cloudevent
from tests.e2e.test_haven_up import (
    HAVEN,
    _add_agency,
    _env,
    _haven_up,
    _identified,
    _stop,
    _wait_until,
)
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.e2e


def _event(event_type: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return cloudevent(
        agency="gr_ngo",
        jurisdiction="GR",
        event_type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def _set_webhook(env: dict[str, str], url: str) -> str:
    result = subprocess.run(
        [str(HAVEN), "agency", "webhook", "set", "--id", "gr_police", "--url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(result.stdout)["secret"])


def _erase_for_police(base: str, ngo: str, police: str, subject: str) -> str:
    auth, seen = {"Authorization": f"Bearer {ngo}"}, {"Authorization": f"Bearer {police}"}
    grant = {
        "consent_id": f"c-{subject[:8]}",
        "granted_at": datetime.now(UTC).isoformat(),
        "recipients": {"agencies": ["gr_police"]},
        "purposes": ["protection"],
    }
    batch = [
        _identified(subject),
        _event("haven.consent.granted.v1", subject, grant),
        _identified(subject),
    ]
    assert httpx.post(f"{base}/v1/events", json=batch, headers=auth).status_code == 202
    view = f"{base}/v1/subjects/{subject}"
    _wait_until(lambda: httpx.get(view, headers=seen).status_code == 200, 90, "police sees it")
    withdrawal = _event(
        "haven.consent.withdrawn.v1",
        subject,
        {"withdrawn_at": datetime.now(UTC).isoformat(), "scope": "all"},
    )
    assert httpx.post(f"{base}/v1/events", json=withdrawal, headers=auth).status_code == 202
    return str(withdrawal["id"])


def _notices(base: str, token: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/v1/notices", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _webhook(base: str, token: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/webhook", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def test_erasure_notice_by_polling_and_by_webhook_across_a_restart(
    embedded_data_dir: Path,
) -> None:
    env = _env(embedded_data_dir) | {
        "HAVEN_WEBHOOK_RETRY_BASE_S": "0.5",
        "HAVEN_WEBHOOK_RETRY_MAX_S": "2",
        "HAVEN_SCHEDULER_TICK_S": "0.2",
    }
    subject = str(uuid.uuid4())
    with WebhookServer() as server:
        with _haven_up(embedded_data_dir, env) as (process, base):
            ngo, police = _add_agency(env, "gr_ngo", "ngo"), _add_agency(env, "gr_police", "police")
            server.secret = _set_webhook(env, server.url)
            withdrawal = _erase_for_police(base, ngo, police, subject)
            _wait_until(lambda: _notices(base, police), 90, "the notice over HTTP")
            (notice,) = _notices(base, police)
            assert (notice["subject"], notice["withdrawal_event_id"]) == (subject, withdrawal)
            _wait_until(lambda: len(server.attempts) >= 2, 60, "failed deliveries retried")
            state = _webhook(base, police)
            assert state["pending"] == 1
            assert state["deliveries"][0]["last_error"] == "HTTP 500"
            assert 'haven_webhook_deliveries{agency="gr_police",state="retrying"} 1.0' in (
                httpx.get(f"{base}/metrics").text
            )
            _stop(process)
        failed_attempts = len(server.attempts)
        server.status = 200
        with _haven_up(embedded_data_dir, env) as (process, base):
            _wait_until(lambda: server.accepted, 90, "delivered after the restart")
            assert _notices(base, police) == [notice], "still readable over HTTP, unacknowledged"
            state = _webhook(base, police)
            assert (state["delivered"], state["pending"]) == (1, 0)
            assert state["deliveries"][0]["attempts"] == failed_attempts + 1
            _stop(process)
    (delivered,) = server.accepted
    assert delivered["verified"], "HMAC-SHA256 signature checks with the secret shown once"
    body = delivered["body"]
    assert (body["type"], body["id"], body["subject"]) == (
        "haven.erasure.notice.v1",
        notice["notice_id"],
        subject,
    )
    assert body["data"]["withdrawal_event_id"] == withdrawal
    assert {a["body"]["id"] for a in server.attempts} == {notice["notice_id"]}
