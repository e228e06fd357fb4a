"""The one-round-trip subject read: the agency role still decides, the access log comes first."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from projectors.directory.roles import access_log_writer, quote_ident
from projectors.keys.keyring import Keyring
from services.api.auth import Caller, caller_for
from services.api.db.agency import read_logged
from services.api.db.agency import rows_as_agency as read_as_agency
from services.api.db.opening import open_sealed
from services.api.db.pools import aio_pool, close_pools
from tests.integration.api_rig import SECRET_NAME, ApiStack, police_share, refused_as

pytestmark = pytest.mark.integration
_LOGGED = (
    "SELECT count(*) FROM haven_core.access_log"
    " WHERE agency_id = :a AND subject_id = :s AND endpoint = 'subject'"
)


@pytest.fixture(scope="module")
def shared(stack: ApiStack) -> str:
    """A subject the NGO identified and shared with the police only."""
    return police_share(stack)


def rows_as_agency(
    reader: sa.Engine, caller: Caller, query: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The async read run to completion (its own event loop, its own pooled connection)."""
    return asyncio.run(read_as_agency(reader, caller, query, params))


def _caller(stack: ApiStack, agency: str) -> Caller:
    return caller_for(stack.context.core, stack.pipeline.tokens[agency])


def _logged(stack: ApiStack, agency: str, subject: str) -> int:
    with stack.context.core.connect() as conn:
        return int(conn.execute(sa.text(_LOGGED), {"a": agency, "s": subject}).scalar_one())


def test_the_access_log_row_is_committed_before_the_answer(stack: ApiStack, shared: str) -> None:
    before = _logged(stack, "gr_police", shared)
    assert stack.get("gr_police", f"/v1/subjects/{shared}").status_code == 200
    assert _logged(stack, "gr_police", shared) == before + 1, "seen from another connection"
    assert stack.get("gr_shelter", f"/v1/subjects/{shared}").status_code == 404
    assert _logged(stack, "gr_shelter", shared) == 0, "a refused read is no read"


def test_the_fast_path_reads_only_the_callers_own_schema(stack: ApiStack, shared: str) -> None:
    police, ngo = _caller(stack, "gr_police"), _caller(stack, "gr_ngo")
    own = rows_as_agency(
        stack.context.reader, police, "SELECT subject_id FROM {schema}.subjects", {}
    )
    assert shared in {row["subject_id"] for row in own}
    foreign = "SELECT subject_id FROM agency_gr_ngo.subjects"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows_as_agency(stack.context.reader, police, foreign, {})
    forged = Caller(ngo.agency_id, ngo.agency_type, ngo.jurisdiction, police.db_role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the role decides, not the schema
        rows_as_agency(stack.context.reader, forged, "SELECT 1 FROM {schema}.subjects", {})
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        rows_as_agency(stack.context.reader, police, "DELETE FROM {schema}.subjects", {})
    sneaky = {"s": f"{shared}'; RESET ROLE; SELECT '1"}
    query = "SELECT subject_id FROM {schema}.subjects WHERE subject_id = %(s)s"
    assert rows_as_agency(stack.context.reader, police, query, sneaky) == []


def test_a_pooled_connection_keeps_no_role_after_a_read(stack: ApiStack, shared: str) -> None:
    police = _caller(stack, "gr_police")
    for _ in range(3):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rows_as_agency(stack.context.reader, police, "SELECT 1 FROM agency_gr_ngo.x", {})
        rows_as_agency(stack.context.reader, police, "SELECT 1 FROM {schema}.subjects", {})
    for _ in range(stack.context.reader.pool.size()):  # type: ignore[attr-defined]
        with stack.context.reader.connect() as conn, conn.begin():
            assert conn.exec_driver_sql("SELECT current_user = session_user").scalar_one()
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql("SELECT count(*) FROM agency_gr_police.subjects")


def test_keys_come_with_the_access_log_row_when_the_cache_is_cold(
    stack: ApiStack, shared: str
) -> None:
    with stack.context.core.connect() as conn:
        kids = list(conn.execute(sa.text("SELECT kid FROM haven_core.keys")).scalars())
    stack.context.keyring.forget(kids)
    view = stack.get("gr_ngo", f"/v1/subjects/{shared}").json()
    assert view["personal"]["full_name"] == SECRET_NAME
    assert len(stack.context.keyring.stale(kids)) < len(kids), "the statement's keys are cached"


def test_the_async_pool_keeps_no_role_after_reads(stack: ApiStack, shared: str) -> None:
    police = _caller(stack, "gr_police")
    reader = stack.context.reader

    async def reads_then_check() -> int:
        for _ in range(3):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await read_as_agency(reader, police, "SELECT 1 FROM agency_gr_ngo.x", {})
            await read_as_agency(reader, police, "SELECT 1 FROM {schema}.subjects", {})
        pooled = aio_pool(reader).idle()
        for conn in pooled:
            cursor = await conn.execute("SELECT current_user = session_user")
            assert await cursor.fetchone() == (True,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute("SELECT count(*) FROM agency_gr_police.subjects")
        await close_pools(reader)
        return len(pooled)

    assert asyncio.run(reads_then_check()) >= 1, "the failed reads returned their connection"


def test_read_and_log_is_one_transaction_under_the_callers_role(
    stack: ApiStack, shared: str
) -> None:
    police, shelter, reader = (
        _caller(stack, "gr_police"),
        _caller(stack, "gr_shelter"),
        stack.context.reader,
    )
    query = "SELECT subject_id, risk_level FROM {schema}.subjects WHERE subject_id = %(s)s"

    async def reads() -> list[list[dict[str, Any]]]:
        found = await read_logged(reader, police, query, {"s": shared}, "subject")
        missed = await read_logged(reader, shelter, query, {"s": shared}, "subject")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the role still decides
            await read_logged(
                reader, police, "SELECT subject_id FROM agency_gr_ngo.subjects", {}, "x"
            )
        pooled = aio_pool(reader).idle()
        for conn in pooled:
            cursor = await conn.execute("SELECT current_user = session_user")
            assert await cursor.fetchone() == (True,), "no role kept"
        await close_pools(reader)
        return [found, missed]

    before = _logged(stack, "gr_police", shared)
    found, missed = asyncio.run(reads())
    assert found == [{"subject_id": shared, "risk_level": None}]
    assert missed == []
    assert _logged(stack, "gr_police", shared) == before + 1
    assert _logged(stack, "gr_shelter", shared) == 0, "nothing found, nothing logged"


def test_the_access_log_writer_can_only_add_rows(stack: ApiStack, shared: str) -> None:
    writer = quote_ident(access_log_writer(stack.context.reader.url.database or ""))
    add = (
        "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint) VALUES ('a', 's', 'e')"
    )
    refused = [
        "SELECT count(*) FROM haven_core.access_log",
        "SELECT count(*) FROM agency_gr_police.subjects",
        "SELECT count(*) FROM haven_core.keys",
        "INSERT INTO haven_core.access_log (agency_id, subject_id, endpoint, read_at)"
        " VALUES ('a', 's', 'e', now() - interval '1 day')",
        "DELETE FROM haven_core.access_log",
    ]
    refused_as(stack.context.reader, writer, refused)
    with stack.context.reader.connect() as conn, conn.begin() as transaction:
        conn.exec_driver_sql(f"SET LOCAL ROLE {writer}")
        assert conn.exec_driver_sql(add).rowcount == 1
        transaction.rollback()


def test_fields_open_off_the_loop_when_every_cached_key_ages_at_once(
    stack: ApiStack, shared: str
) -> None:
    ngo, core, reader = _caller(stack, "gr_ngo"), stack.context.core, stack.context.reader
    master = stack.context.keyring._master  # a keyring whose cache forgets at once
    keyring = Keyring(core, master, cache_ttl_s=0.0)
    query = "SELECT personal FROM {schema}.subjects WHERE subject_id = %(s)s"

    async def run() -> list[Any]:
        rows = await read_as_agency(reader, ngo, query, {"s": shared})
        opened = await open_sealed(core, keyring, rows)
        await close_pools(core, reader)
        return opened

    assert asyncio.run(run())[0]["personal"]["full_name"] == SECRET_NAME
