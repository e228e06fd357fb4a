"""Registering an agency's webhook: the endpoint URL and a signing secret shown once.

The secret signs every delivery (HMAC-SHA256), so Haven must be able to use
it: it cannot be stored as a hash like API tokens.  It is wrapped under the
master key (AES-256-GCM, bound to the agency id) like the data keys; only
the processes holding the master key (worker, API) can unwrap it.  It is
shown once, when set, and never logged.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from sqlalchemy import Engine, text

from events.sealing import wrap_key
from projectors.directory.agencies import get_agency
from projectors.outbox.webhooks import SECRET_PREFIX, webhook_kid


class InvalidWebhook(ValueError):
    """The webhook URL is not acceptable."""


def check_url(url: str, *, allow_http: bool) -> str:
    """``url`` if it is an absolute http(s) URL (http only when ``allow_http``)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or len(url) > 2000:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise InvalidWebhook(f"--url must be an absolute {allowed} URL of at most 2000 characters")
    return url


def set_webhook(engine: Engine, master_key: bytes, agency_id: str, url: str) -> str:
    """Register (or replace) the agency's endpoint with a fresh secret; returns the secret."""
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    wrapped = wrap_key(master_key, webhook_kid(agency_id), secret.encode())
    with engine.begin() as conn:
        get_agency(conn, agency_id)
        conn.execute(
            text(
                "INSERT INTO haven_core.agency_webhooks (agency_id, url, secret_wrapped)"
                " VALUES (:a, :u, :s) ON CONFLICT (agency_id) DO UPDATE"
                " SET url = EXCLUDED.url, secret_wrapped = EXCLUDED.secret_wrapped,"
                " created_at = now()"
            ),
            {"a": agency_id, "u": url, "s": wrapped},
        )
    return secret


def clear_webhook(engine: Engine, agency_id: str) -> bool:
    """Remove the endpoint and its pending deliveries; False if there was none."""
    with engine.begin() as conn:
        get_agency(conn, agency_id)
        conn.execute(
            text("DELETE FROM haven_core.webhook_outbox WHERE agency_id = :a"), {"a": agency_id}
        )
        result = conn.execute(
            text("DELETE FROM haven_core.agency_webhooks WHERE agency_id = :a"), {"a": agency_id}
        )
    return bool(result.rowcount)
