"""Bearer-token authentication: who is calling, checked against the hashed tokens."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import HTTPException, status
from sqlalchemy import Engine, text

from projectors.directory.agencies import TOKEN_PREFIX, hash_token
from services.api.db.retry import once_more_if_dropped

if TYPE_CHECKING:
    from services.api.tokens import TokenCache


@dataclass(frozen=True)
class Caller:
    """The authenticated agency."""

    agency_id: str
    agency_type: str
    jurisdiction: str
    db_role: str


UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="a valid bearer token is required",
    headers={"WWW-Authenticate": "Bearer"},
)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


_LOOKUP = text(
    "SELECT t.token_hash, t.expires_at, a.id, a.agency_type, a.jurisdiction, a.db_role"
    " FROM haven_core.agency_tokens t JOIN haven_core.agencies a ON a.id = t.agency_id"
    " WHERE t.token_id = :t AND t.revoked_at IS NULL"
    " AND (t.expires_at IS NULL OR t.expires_at > now())"
)


def _lookup(core: Engine, token: str, digest: bytes) -> tuple[Caller, datetime | None] | None:
    """The token's agency and expiry: one statement, one round trip (autocommit)."""
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_PREFIX:
        return None

    def query() -> tuple[Caller, datetime | None] | None:
        with core.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(_LOOKUP, {"t": parts[1]}).first()
        if row is None or not hmac.compare_digest(bytes(row[0]), digest):
            return None
        return Caller(row[2], row[3], row[4], row[5]), row[1]

    return once_more_if_dropped(query)


def _digest(token: str | None) -> bytes | None:
    """The stored hash of a well-formed ``token`` (None: missing or too long)."""
    return hash_token(token) if token and len(token) <= 200 else None


def cached_caller(token: str | None, cache: TokenCache | None) -> Caller | None:
    """The caller of a well-formed ``token`` if ``cache`` holds it (no round trip), else None."""
    digest = _digest(token)
    return None if digest is None or cache is None else cache.get(digest)


def caller_for(core: Engine, token: str | None, cache: TokenCache | None = None) -> Caller:
    """The calling agency, or 401 (blocking: call from a thread).

    With ``cache``, a token seen in the last few seconds costs no round trip.
    """
    digest = _digest(token)
    if token is None or digest is None:
        raise UNAUTHORIZED
    cached = cache.get(digest) if cache is not None else None
    if cached is not None:
        return cached
    found = _lookup(core, token, digest)
    if found is None:
        raise UNAUTHORIZED
    caller, expires_at = found
    if cache is not None:
        cache.put(digest, caller, expires_at)
    return caller
