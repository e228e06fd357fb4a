"""Sends queued webhook deliveries: signed CloudEvents, retried with exponential backoff.

Each scheduler tick claims the due rows of ``haven_core.webhook_outbox`` (a
lease: ``next_attempt_at`` moves ahead before anything is sent, so a crash
mid-send only delays the retry), POSTs each one as a structured-mode
CloudEvent and records the outcome.  A 2xx marks it delivered; anything
else schedules the next attempt after ``base * 2^(attempts-1)`` seconds,
capped at ``max``; a delivery is never dropped.  Only the status code or
the exception class is kept as the error, never a response body.

Signatures follow the Standard Webhooks scheme: ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">`` keyed by the base64-decoded part of the secret
after ``whsec_``, so the Standard Webhooks libraries verify them as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from projectors.outbox.webhooks import SECRET_PREFIX, Webhook, load_webhooks

logger = logging.getLogger("haven.webhooks")
CLOUDEVENTS_JSON = "application/cloudevents+json"


@dataclass(frozen=True)
class WebhookSettings:
    """Retry and timeout behaviour of deliveries."""

    base_delay_s: float = 2.0
    max_delay_s: float = 3600.0
    timeout_s: float = 5.0
    batch: int = 50
    lease_s: float = 60.0


@dataclass(frozen=True)
class Due:
    """One claimed delivery."""

    seq: int
    agency_id: str
    ce_id: str
    ce_type: str
    ce_subject: str | None
    payload: Any
    created_at: datetime
    attempts: int


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``<id>.<timestamp>.<body>`` under the secret
    (the base64-decoded part after ``whsec_``)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def cloudevent(due: Due) -> bytes:
    """The delivery's body: a CloudEvent in structured mode."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": due.ce_id,
        "source": "haven",
        "type": due.ce_type,
        "time": due.created_at.isoformat(),
        "datacontenttype": "application/json",
        "data": due.payload,
    }
    if due.ce_subject:
        event["subject"] = due.ce_subject
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # a redirect is a failed delivery, never followed


_CLAIM = text(
    "UPDATE haven_core.webhook_outbox SET next_attempt_at = now() + make_interval(secs => :lease)"
    " WHERE seq IN (SELECT seq FROM haven_core.webhook_outbox"
    "  WHERE delivered_at IS NULL AND next_attempt_at <= now()"
    "  ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED)"
    " RETURNING seq, agency_id, ce_id, ce_type, ce_subject, payload, created_at, attempts"
)
_DELIVERED = text(
    "UPDATE haven_core.webhook_outbox SET delivered_at = now(), attempts = attempts + 1,"
    " last_status = :s, last_error = NULL WHERE seq = :q"
)
_FAILED = text(
    "UPDATE haven_core.webhook_outbox SET attempts = attempts + 1, last_status = :s,"
    " last_error = :e, next_attempt_at = now() + make_interval(secs => :d) WHERE seq = :q"
)


class WebhookDispatcher:
    """Delivers due webhook rows (blocking: call from a thread)."""

    def __init__(
        self, engine: Engine, master_key: bytes, settings: WebhookSettings | None = None
    ) -> None:
        self._engine = engine
        self._master = master_key
        self.settings = settings or WebhookSettings()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def delay_s(self, attempts: int) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones."""
        exponent = min(max(attempts - 1, 0), 30)
        return float(min(self.settings.base_delay_s * 2**exponent, self.settings.max_delay_s))

    def deliver(self) -> int:
        """Send every due delivery once; returns how many were delivered now."""
        with self._engine.begin() as conn:
            claimed = [
                Due(*row)
                for row in conn.execute(
                    _CLAIM, {"lease": self.settings.lease_s, "n": self.settings.batch}
                )
            ]
            hooks = load_webhooks(conn, self._master, sorted({d.agency_id for d in claimed}))
        if not claimed:
            return 0
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook") as pool:
            outcomes = list(pool.map(lambda d: self._send(hooks.get(d.agency_id), d), claimed))
        with self._engine.begin() as conn:
            for due, (status, error) in zip(claimed, outcomes, strict=True):
                if error is None:
                    conn.execute(_DELIVERED, {"s": status, "q": due.seq})
                else:
                    delay = self.delay_s(due.attempts + 1)
                    conn.execute(_FAILED, {"s": status, "e": error, "d": delay, "q": due.seq})
        delivered = sum(1 for _, error in outcomes if error is None)
        logger.info(
            "webhook deliveries",
            extra={
                "attempted": len(claimed),
                "delivered": delivered,
                "failed": len(claimed) - delivered,
                "elapsed_ms": round((time.perf_counter() - started) * 1e3, 1),
            },
        )
        return delivered

    def _send(self, hook: Webhook | None, due: Due) -> tuple[int | None, str | None]:
        if hook is None:
            return None, "no webhook"
        body = cloudevent(due)
        timestamp = int(time.time())
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked when set
            hook.url,
            data=body,
            method="POST",
            headers={
                "content-type": CLOUDEVENTS_JSON,
                "webhook-id": due.ce_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature(hook.secret.decode(), due.ce_id, timestamp, body),
                "user-agent": "haven-webhooks/1",
            },
        )
        try:
            with self._opener.open(request, timeout=self.settings.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return None, type(exc).__name__
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}"
