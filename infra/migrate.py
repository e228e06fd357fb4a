"""Plain-SQL migrations, applied in order, once, under an advisory lock.

Files live in ``infra/migrations/NNNN_name.sql``; applied versions are
recorded in ``haven_core.schema_migrations``.  Concurrent runners (two
workers starting together) serialise on the lock, so each file runs once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints

logger = logging.getLogger("haven.migrate")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_ID = 0x4841564E  # "HAVN"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """All migration files, in version order."""
    return sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def _applied(conn: Connection) -> set[str]:
    conn.execute(text("CREATE SCHEMA IF NOT EXISTS haven_core"))
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS haven_core.schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    )
    rows = conn.execute(text("SELECT version FROM haven_core.schema_migrations"))
    return {row[0] for row in rows}


def migrate(engine: Engine, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    started = time.perf_counter()
    applied_now: list[str] = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        done = _applied(conn)
        for path in migration_files(directory):
            version = path.stem
            if version in done:
                continue
            conn.exec_driver_sql(path.read_text(encoding="utf-8"))
            conn.execute(
                text("INSERT INTO haven_core.schema_migrations (version) VALUES (:v)"),
                {"v": version},
            )
            applied_now.append(version)
    logger.info(
        "migrations applied",
        extra={
            "applied": len(applied_now),
            "elapsed_ms": round((time.perf_counter() - started) * 1e3, 1),
        },
    )
    return applied_now


@contextmanager
def migrated_engine(endpoints: Endpoints) -> Iterator[Engine]:
    """An engine on the configured database with every migration applied."""
    engine = sync_engine(endpoints.database_url, pool_size=2)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
