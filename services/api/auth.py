"""Bearer-token authentication: who is calling, checked against the hashed tokens."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, status
from sqlalchemy import Engine

from projectors.directory.agencies import authenticate, get_agency


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


def caller_for(core: Engine, token: str | None) -> Caller:
    """The calling agency, or 401 (blocking: call from a thread)."""
    if not token or len(token) > 200:
        raise UNAUTHORIZED
    with core.connect() as conn:
        agency_id = authenticate(conn, token)
        if agency_id is None:
            raise UNAUTHORIZED
        agency = get_agency(conn, agency_id)
    return Caller(agency.id, agency.agency_type, agency.jurisdiction, agency.db_role)
