"""Console sessions: an agency token is exchanged once for a server-side session.

The cookie holds 32 random bytes (URL-safe base64); Postgres keeps only their
SHA-256 with the agency, a CSRF token and the expiry.  Signing out or expiry
deletes the row, so a session can be ended server-side at once (a signed
cookie could not be).  The agency token itself is never stored by the console.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, text

#: How long a console session lasts after sign-in.
SESSION_TTL = timedelta(hours=8)
COOKIE = "haven_console"


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and the token its forms must carry."""

    agency_id: str
    csrf_token: str


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def open_session(core: Engine, agency_id: str) -> tuple[str, Session]:
    """A new session for ``agency_id``: (cookie value, session) (blocking)."""
    session_id = secrets.token_urlsafe(32)
    session = Session(agency_id, secrets.token_urlsafe(32))
    with core.begin() as conn:
        conn.execute(text("DELETE FROM haven_core.console_sessions WHERE expires_at < now()"))
        conn.execute(
            text(
                "INSERT INTO haven_core.console_sessions"
                " (id_sha256, agency_id, csrf_token, expires_at)"
                " VALUES (:h, :a, :c, now() + :ttl)"
            ),
            {"h": _digest(session_id), "a": agency_id, "c": session.csrf_token, "ttl": SESSION_TTL},
        )
    return session_id, session


def find_session(core: Engine, session_id: str | None) -> Session | None:
    """The live session behind a cookie value, or None (blocking)."""
    if not session_id or len(session_id) > 100:
        return None
    with core.connect() as conn:
        row = conn.execute(
            text(
                "SELECT agency_id, csrf_token FROM haven_core.console_sessions"
                " WHERE id_sha256 = :h AND expires_at > now()"
            ),
            {"h": _digest(session_id)},
        ).first()
    return None if row is None else Session(row[0], row[1])


def close_session(core: Engine, session_id: str) -> None:
    """End the session (blocking)."""
    with core.begin() as conn:
        conn.execute(
            text("DELETE FROM haven_core.console_sessions WHERE id_sha256 = :h"),
            {"h": _digest(session_id)},
        )
