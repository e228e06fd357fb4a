"""Upgrading a database whose sealed outbox marked relayed rows in place (relayed_at):
the rows still pending stay pending, those relayed do not go again (real Postgres)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.migrate import migrate, migration_files
from projectors.outbox.sealed_store import OutboxStore
from tests.conftest import fresh_database

pytestmark = pytest.mark.integration

NARROW = "0009_sealed_pending"


@pytest.fixture
def bare_engine(infra: Endpoints) -> Iterator[Engine]:
    """An engine on a new database that no migration has touched."""
    with fresh_database(infra, migrated=False) as url:
        engine = sync_engine(url, pool_size=2)
        yield engine
        engine.dispose()


def test_pending_rows_stay_pending_and_relayed_ones_do_not_go_again(
    bare_engine: Engine, tmp_path: Path
) -> None:
    for path in migration_files():
        if path.stem < NARROW:
            shutil.copy(path, tmp_path / path.name)
    migrate(bare_engine, tmp_path)
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.sealed_outbox"
                " (source, event_id, record_key, record_value, relayed_at) VALUES"
                " ('s', 'relayed', NULL, 'v1', now()),"
                " ('s', 'waiting', 'k', 'v2', NULL),"
                " ('s', 'also waiting', NULL, 'v3', NULL)"
            )
        )
    assert migrate(bare_engine) == [path.stem for path in migration_files() if path.stem >= NARROW]
    pending = OutboxStore(bare_engine).pending(10)
    assert [(p.ref, p.key, p.value) for p in pending] == [
        (("s", "waiting"), b"k", b"v2"),
        (("s", "also waiting"), None, b"v3"),
    ]
    with bare_engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'haven_core' AND table_name = 'sealed_outbox'"
            )
        ).scalars()
        assert "relayed_at" not in set(columns)
