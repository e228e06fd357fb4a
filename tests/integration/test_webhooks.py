"""Webhook deliveries on real Postgres: queued with the notice, signed, retried, never lost."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from events.errors import ContractError, FieldError, RejectReason
from infra.endpoints import Endpoints
from projectors.directory.agencies import create_agency_rows
from projectors.directory.webhooks import InvalidWebhook, check_url, clear_webhook, set_webhook
from projectors.outbox.webhook_delivery import WebhookDispatcher, WebhookSettings
from projectors.outbox.webhooks import delivery_counts, webhook_state
from projectors.sealer.dlq import DeadLetterRow, InboxRecord
from projectors.sealer.store import SealerStore
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.integration
FAST = WebhookSettings(base_delay_s=0.2, max_delay_s=1.0, timeout_s=2.0)


def _agency(engine: Engine, agency_id: str) -> None:
    with engine.begin() as conn:
        create_agency_rows(conn, agency_id, "police", "GR", agency_id)


def _notice(engine: Engine, agency_id: str) -> str:
    """A notice row as the engine writes it (the trigger queues the delivery)."""
    notice_id, subject = str(uuid.uuid4()), str(uuid.uuid4())
    payload = {
        "notice_id": notice_id,
        "type": "haven.erasure.notice.v1",
        "agency": agency_id,
        "subject": subject,
        "rows_erased": 2,
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.notice_outbox (notice_id, agency_id, subject_id, payload)"
                " VALUES (:n, :a, :s, CAST(:p AS jsonb))"
            ),
            {"n": notice_id, "a": agency_id, "s": subject, "p": json.dumps(payload)},
        )
    return notice_id


def _deliver_until(dispatcher: WebhookDispatcher, done: object, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not delivered in time"
        dispatcher.deliver()
        time.sleep(0.1)


def test_a_failing_endpoint_is_retried_with_backoff_then_delivered_signed(
    infra: Endpoints, engine: Engine, master_key: bytes
) -> None:
    _agency(engine, "gr_police")
    _agency(engine, "it_police")
    with WebhookServer() as server:
        server.secret = set_webhook(engine, master_key, "gr_police", server.url)
        notice = _notice(engine, "gr_police")
        _notice(engine, "it_police")  # no webhook: nothing queued for it
        dispatcher = WebhookDispatcher(engine, master_key, FAST)
        _deliver_until(dispatcher, lambda: len(server.attempts) >= 3)
        with engine.connect() as conn:
            state = webhook_state(conn, "gr_police")
        assert state is not None
        assert (state["pending"], state["retrying"], state["delivered"]) == (1, 1, 0)
        assert state["deliveries"][0]["last_error"] == "HTTP 500"
        times = [int(a["headers"]["webhook-timestamp"]) for a in server.attempts]
        assert times == sorted(times)
        server.status = 204
        _deliver_until(dispatcher, lambda: server.accepted)
    (delivered,) = server.accepted
    assert delivered["verified"], "the signature checks out with the secret shown once"
    assert delivered["headers"]["content-type"] == "application/cloudevents+json"
    assert delivered["body"]["id"] == notice
    assert delivered["body"]["type"] == "haven.erasure.notice.v1"
    assert delivered["body"]["data"]["rows_erased"] == 2
    assert {a["body"]["id"] for a in server.attempts} == {notice}, "one agency's notices only"
    with engine.connect() as conn:
        state = webhook_state(conn, "gr_police")
        counts = delivery_counts(conn)
    assert state is not None
    assert (state["pending"], state["delivered"]) == (0, 1)
    assert state["deliveries"][0]["attempts"] == len(server.attempts)
    assert ("gr_police", "delivered", 1) in counts


def test_backoff_doubles_up_to_the_cap(engine: Engine, master_key: bytes) -> None:
    dispatcher = WebhookDispatcher(engine, master_key, WebhookSettings(2.0, 60.0))
    assert [dispatcher.delay_s(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_a_crash_mid_delivery_only_delays_it(
    infra: Endpoints, engine: Engine, master_key: bytes
) -> None:
    """A claimed row whose outcome was never recorded is sent again after the lease."""
    _agency(engine, "gr_police")
    with WebhookServer() as server:
        server.status = 200
        server.secret = set_webhook(engine, master_key, "gr_police", server.url)
        notice = _notice(engine, "gr_police")
        with engine.begin() as conn:  # what a worker did before dying: claimed, never sent
            conn.execute(
                text("UPDATE haven_core.webhook_outbox SET next_attempt_at = now() + interval '1s'")
            )
        dispatcher = WebhookDispatcher(engine, master_key, FAST)
        assert dispatcher.deliver() == 0, "leased: not sent again at once"
        _deliver_until(dispatcher, lambda: server.accepted)
    assert server.accepted[0]["body"]["id"] == notice


def test_webhook_urls_and_clearing(engine: Engine, master_key: bytes) -> None:
    _agency(engine, "gr_police")
    assert check_url("https://agency.example/hook", allow_http=False)
    with pytest.raises(InvalidWebhook, match="https://"):
        check_url("http://agency.example/hook", allow_http=False)
    with pytest.raises(InvalidWebhook):
        check_url("file:///etc/passwd", allow_http=True)
    secret = set_webhook(engine, master_key, "gr_police", "https://agency.example/hook")
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT secret_wrapped FROM haven_core.agency_webhooks")
        ).scalar()
    assert stored is not None  # bytea NOT NULL, and the row was just set
    assert secret.encode() not in bytes(stored), "the secret is stored wrapped"
    _notice(engine, "gr_police")
    assert clear_webhook(engine, "gr_police")
    with engine.connect() as conn:
        assert webhook_state(conn, "gr_police") is None
        assert not conn.execute(text("SELECT count(*) FROM haven_core.webhook_outbox")).scalar()


def test_dead_letters_are_delivered_to_their_own_agency_only(
    infra: Endpoints, engine: Engine, master_key: bytes
) -> None:
    _agency(engine, "gr_police")
    _agency(engine, "it_police")
    error = ContractError(RejectReason.SCHEMA_VIOLATION, [FieldError("data.x", "required")])
    rows = [
        DeadLetterRow(
            agency,
            InboxRecord(f"t.inbox.{agency}.v1", 0, 7, None, b'{"secret":1}'),
            error,
            datetime.now(UTC),
        )
        for agency in ("gr_police", "it_police")
    ]
    with WebhookServer() as server:
        server.status = 200
        server.secret = set_webhook(engine, master_key, "gr_police", server.url)
        SealerStore(engine).commit_batch([], [], {"schema_violation": 2}, rows)
        _deliver_until(WebhookDispatcher(engine, master_key, FAST), lambda: server.accepted)
    (delivered,) = server.accepted
    assert delivered["verified"]
    body = delivered["body"]
    assert body["type"] == "haven.dead_letter.v1"
    assert body["data"]["source_topic"] == "t.inbox.gr_police.v1"
    assert body["data"]["errors"] == [{"path": "data.x", "message": "required", "code": "invalid"}]
    assert "secret" not in json.dumps(body), "never the original"
