"""Webhook deliveries in Postgres: the endpoints' secrets and the outbox's state.

Deliveries are queued by database triggers in the transaction that writes a
notice or a dead letter (see ``0007_integration.sql``) and sent by
:mod:`projectors.outbox.webhook_delivery`; endpoints are registered by
:mod:`projectors.directory.webhooks`, with the secret wrapped under the
master key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from events.sealing import unwrap_key

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class Webhook:
    """An agency's endpoint and its signing secret (unwrapped)."""

    agency_id: str
    url: str
    secret: bytes


def webhook_kid(agency_id: str) -> str:
    """The associated data the secret is wrapped under (binds it to its agency)."""
    return f"webhook:{agency_id}"


def load_webhooks(conn: Connection, master_key: bytes, agency_ids: list[str]) -> dict[str, Webhook]:
    """The webhooks of ``agency_ids`` that exist, secrets unwrapped."""
    rows = conn.execute(
        text(
            "SELECT agency_id, url, secret_wrapped FROM haven_core.agency_webhooks"
            " WHERE agency_id = ANY(:a)"
        ),
        {"a": agency_ids},
    )
    return {
        row[0]: Webhook(row[0], row[1], unwrap_key(master_key, webhook_kid(row[0]), bytes(row[2])))
        for row in rows
    }


_STATE = text(
    "SELECT w.url, w.created_at,"
    " count(o.seq) FILTER (WHERE o.delivered_at IS NOT NULL),"
    " count(o.seq) FILTER (WHERE o.delivered_at IS NULL),"
    " count(o.seq) FILTER (WHERE o.delivered_at IS NULL AND o.attempts > 0),"
    " min(o.created_at) FILTER (WHERE o.delivered_at IS NULL),"
    " max(o.delivered_at)"
    " FROM haven_core.agency_webhooks w"
    " LEFT JOIN haven_core.webhook_outbox o ON o.agency_id = w.agency_id"
    " WHERE w.agency_id = :a GROUP BY w.url, w.created_at"
)
_RECENT = text(
    "SELECT ce_id, ce_type, created_at, attempts, next_attempt_at, last_status, last_error,"
    " delivered_at FROM haven_core.webhook_outbox WHERE agency_id = :a"
    " ORDER BY seq DESC LIMIT :n"
)
_DELIVERY_FIELDS = (
    "id",
    "type",
    "created_at",
    "attempts",
    "next_attempt_at",
    "last_status",
    "last_error",
    "delivered_at",
)


def webhook_state(conn: Connection, agency_id: str, recent: int = 20) -> dict[str, Any] | None:
    """The endpoint, delivery counts and the latest deliveries; None without a webhook."""
    row = conn.execute(_STATE, {"a": agency_id}).first()
    if row is None:
        return None
    url, since, delivered, pending, failing, oldest, last = row
    deliveries = [
        dict(zip(_DELIVERY_FIELDS, r, strict=True))
        for r in conn.execute(_RECENT, {"a": agency_id, "n": recent})
    ]
    return {
        "url": url,
        "since": since,
        "delivered": delivered,
        "pending": pending,
        "retrying": failing,
        "oldest_pending_at": oldest,
        "last_delivered_at": last,
        "deliveries": deliveries,
    }


def delivery_counts(conn: Connection) -> list[tuple[str, str, int]]:
    """(agency, state, count) for /metrics: delivered, pending and retrying deliveries."""
    rows = conn.execute(
        text(
            "SELECT agency_id,"
            " count(*) FILTER (WHERE delivered_at IS NOT NULL),"
            " count(*) FILTER (WHERE delivered_at IS NULL),"
            " count(*) FILTER (WHERE delivered_at IS NULL AND attempts > 0)"
            " FROM haven_core.webhook_outbox GROUP BY agency_id ORDER BY agency_id"
        )
    )
    return [
        (agency, state, int(value))
        for agency, delivered, pending, retrying in rows
        for state, value in (("delivered", delivered), ("pending", pending), ("retrying", retrying))
    ]


def since_text(value: datetime | None) -> str | None:
    """An ISO timestamp or None (for the CLI's JSON)."""
    return value.isoformat() if value else None
