"""The agency registry in ``haven_core``: agencies, hashed tokens, schemas, roles.

Registering an agency, in one Postgres transaction: its row, the SHA-256 of
a new API token, its read-model schema ``agency_<id>``, its database role
(which may read only that schema), and a ``haven.agency.registered.v1``
system event in the outbox, relayed to the log afterwards so replays see the
agency appear where it did live.  Tokens are 256-bit random secrets, so a
fast hash is enough (no password stretching needed); lookups compare in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from projectors.directory.roles import grant_agency_access

TOKEN_PREFIX = "hvn"  # noqa: S105 - a public prefix, not a secret


class AgencyExists(ValueError):
    """An agency with this id is already registered."""


class AgencyNotFound(LookupError):
    """No agency with this id."""


@dataclass(frozen=True)
class Agency:
    """A registered agency (never its tokens)."""

    id: str
    agency_type: str
    jurisdiction: str
    name: str
    registered_at: datetime
    db_role: str


@dataclass(frozen=True)
class IssuedToken:
    """A token shown once to its agency; only its hash is stored."""

    token_id: str
    token: str


def schema_name(agency_id: str) -> str:
    """The read-model schema of an agency."""
    return f"agency_{agency_id}"


def hash_token(token: str) -> bytes:
    """SHA-256 of a token."""
    return hashlib.sha256(token.encode()).digest()


def new_token() -> IssuedToken:
    """A fresh token ``hvn_<token id>_<secret>``."""
    token_id = secrets.token_hex(8)
    return IssuedToken(token_id, f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}")


def _role_name(conn: Connection, agency_id: str) -> str:
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    return f"{database}__{agency_id}"[:63]


def _quote(conn: Connection, identifier: str) -> str:
    return str(conn.execute(text("SELECT quote_ident(:i)"), {"i": identifier}).scalar_one())


def create_agency_rows(
    conn: Connection,
    agency_id: str,
    agency_type: str,
    jurisdiction: str,
    name: str,
    *,
    token_expires_in_s: float | None = None,
) -> IssuedToken:
    """Insert the agency, its first token, its schema and its role (caller's transaction)."""
    exists = conn.execute(text("SELECT 1 FROM haven_core.agencies WHERE id = :i"), {"i": agency_id})
    if exists.first() is not None:
        raise AgencyExists(f"agency {agency_id!r} is already registered")
    role = _role_name(conn, agency_id)
    conn.execute(
        text(
            "INSERT INTO haven_core.agencies (id, agency_type, jurisdiction, name, db_role)"
            " VALUES (:i, :t, :j, :n, :r)"
        ),
        {"i": agency_id, "t": agency_type, "j": jurisdiction, "n": name, "r": role},
    )
    token = _insert_token(conn, agency_id, token_expires_in_s)
    schema, quoted_role = _quote(conn, schema_name(agency_id)), _quote(conn, role)
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    conn.exec_driver_sql(
        f"DO $$ BEGIN CREATE ROLE {quoted_role} NOLOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {quoted_role}")
    conn.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {quoted_role}"
    )
    grant_agency_access(conn, agency_type, role)
    _create_read_models(conn, schema_name(agency_id))
    return token


def _create_read_models(conn: Connection, schema: str) -> None:
    """The agency's (empty) read models exist from registration on."""
    from projectors.readmodels.registry import default_registry  # the registry imports projectors
    from projectors.readmodels.schemas import lay_out

    lay_out(conn, schema, default_registry())


def _insert_token(
    conn: Connection, agency_id: str, expires_in_s: float | None = None
) -> IssuedToken:
    issued = new_token()
    conn.execute(
        text(
            "INSERT INTO haven_core.agency_tokens (token_id, agency_id, token_hash, expires_at)"
            " VALUES (:t, :a, :h, now() + make_interval(secs => CAST(:e AS double precision)))"
        ),
        {"t": issued.token_id, "a": agency_id, "h": hash_token(issued.token), "e": expires_in_s},
    )
    return issued


def rotate_token(
    engine: Engine,
    agency_id: str,
    *,
    overlap_s: float | None = 0.0,
    expires_in_s: float | None = None,
) -> IssuedToken:
    """Issue a new token (expiring after ``expires_in_s``, if given); older tokens stay
    valid for ``overlap_s`` more seconds (0: they stop at once; None: until revoked)."""
    with engine.begin() as conn:
        get_agency(conn, agency_id)
        if overlap_s is not None:
            conn.execute(
                text(
                    "UPDATE haven_core.agency_tokens SET expires_at = LEAST("
                    " COALESCE(expires_at, 'infinity'),"
                    " now() + make_interval(secs => CAST(:o AS double precision)))"
                    " WHERE agency_id = :a AND revoked_at IS NULL"
                ),
                {"a": agency_id, "o": overlap_s},
            )
        return _insert_token(conn, agency_id, expires_in_s)


def authenticate(conn: Connection, token: str) -> str | None:
    """The agency id a token belongs to, or None (constant-time comparison)."""
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_PREFIX:
        return None
    row = conn.execute(
        text(
            "SELECT agency_id, token_hash FROM haven_core.agency_tokens"
            " WHERE token_id = :t AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > now())"
        ),
        {"t": parts[1]},
    ).first()
    if row is None or not hmac.compare_digest(bytes(row[1]), hash_token(token)):
        return None
    return str(row[0])


def get_agency(conn: Connection, agency_id: str) -> Agency:
    """One agency, or AgencyNotFound."""
    row = conn.execute(
        text(
            "SELECT id, agency_type, jurisdiction, name, registered_at, db_role"
            " FROM haven_core.agencies WHERE id = :i"
        ),
        {"i": agency_id},
    ).first()
    if row is None:
        raise AgencyNotFound(f"no agency {agency_id!r}")
    return Agency(*row)


def list_agencies(conn: Connection) -> list[Agency]:
    """Every agency, by id."""
    rows = conn.execute(
        text(
            "SELECT id, agency_type, jurisdiction, name, registered_at, db_role"
            " FROM haven_core.agencies ORDER BY id"
        )
    )
    return [Agency(*row) for row in rows]
