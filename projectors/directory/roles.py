"""Database roles: what each agency's role may read, and the API's login role.

Isolation is enforced by PostgreSQL, not by query code.  Each agency role
reads only its own schema; auditor roles may also read the erasure receipts,
the access log, the audit ledger, refusals (ids and reasons only) and the
statistics schema.  The API logs in as a NOINHERIT
role that owns nothing and may only ``SET ROLE`` into agency roles and into
the access-log writer, which may only add access-log rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy import Connection, text

#: Tables in ``haven_core`` an auditor's role may read (never keys or tokens).
AUDITOR_CORE_TABLES = (
    "erasure_receipts",
    "access_log",
    "audit_ledger",
    "refusals",
    "verify_runs",
    "grant_receipts",
)
#: Columns of ``haven_core`` tables auditors may read in part (never corrected values).
AUDITOR_CORE_COLUMNS = {
    "rectifications": (
        "rectification_event_id",
        "subject_id",
        "target_event_id",
        "target_type",
        "producer",
        "reason",
        "retract",
        "field_names",
        "agencies",
        "rectified_at",
        "log_offset",
    ),
}
STATS_SCHEMA = "haven_stats"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def api_role_name(conn: Connection) -> str:
    """The API login role of this database (see migration 0004)."""
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    return f"{database}__api"[:63]


def access_log_writer(database: str) -> str:
    """The role of ``database`` that may only add access-log rows (see migration 0010);
    the API's login role may become it to log a read in the read's transaction."""
    return f"{database}__access_log"[:63]


def api_login_password(master_key: bytes, database: str) -> str:
    """The API role's password, derived from the master key: nothing new to store."""
    digest = hmac.new(master_key, f"haven-api-login:{database}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def grant_agency_access(conn: Connection, agency_type: str, role: str) -> None:
    """Let the API assume ``role``; auditors also read receipts, access log, statistics."""
    quoted = quote_ident(role)
    conn.exec_driver_sql(f"GRANT {quoted} TO {quote_ident(api_role_name(conn))}")
    if agency_type != "auditor":
        return
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA haven_core TO {quoted}")
    for table in AUDITOR_CORE_TABLES:
        conn.exec_driver_sql(f"GRANT SELECT ON haven_core.{table} TO {quoted}")
    for table, columns in AUDITOR_CORE_COLUMNS.items():
        listed = ", ".join(columns)
        conn.exec_driver_sql(f"GRANT SELECT ({listed}) ON haven_core.{table} TO {quoted}")
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {STATS_SCHEMA}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {STATS_SCHEMA} TO {quoted}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {STATS_SCHEMA} TO {quoted}")
    conn.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {STATS_SCHEMA} GRANT SELECT ON TABLES TO {quoted}"
    )


def enable_api_login(conn: Connection, master_key: bytes) -> str:
    """Give the API role its derived password and every agency role; returns the role name."""
    role = api_role_name(conn)
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    password = api_login_password(master_key, database).replace("'", "''")
    conn.exec_driver_sql(f"ALTER ROLE {quote_ident(role)} LOGIN PASSWORD '{password}'")
    agencies = conn.execute(text("SELECT agency_type, db_role FROM haven_core.agencies"))
    for agency_type, db_role in agencies.all():
        grant_agency_access(conn, agency_type, db_role)
    return role
