"""A logged read's statements are prepared once per pooled connection (db/prepared.py)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from services.api.auth import caller_for
from services.api.db import prepared
from services.api.db.agency import read_logged
from services.api.db.pools import aio_pool
from services.api.routes.subjects import _ONE_SUBJECT
from tests.integration.api_rig import ApiStack, police_share

pytestmark = pytest.mark.integration

_HELD = "SELECT name FROM pg_prepared_statements WHERE name LIKE 'haven\\_%' ORDER BY name"
_FAILING = _ONE_SUBJECT + " AND 1 / (length(subject_id) - length(subject_id)) = 1"


def _logged(stack: ApiStack, subject: str) -> int:
    with stack.pipeline.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM haven_core.access_log WHERE subject_id = :s"),
                {"s": subject},
            ).scalar_one()
        )


def test_each_statement_is_prepared_once_and_the_oldest_given_up(
    stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = police_share(stack)
    context = stack.context
    caller = caller_for(context.core, stack.pipeline.tokens["gr_police"])
    params = {"subject": subject}

    async def reads(count: int) -> tuple[list[int], list[str]]:
        found = [
            len(await read_logged(context.reader, caller, _ONE_SUBJECT, params, "subject"))
            for _ in range(count)
        ]
        async with aio_pool(context.reader).connection() as conn:  # the one they all used
            names = [str(row[0]) for row in await (await conn.execute(_HELD)).fetchall()]
        return found, names

    logged = _logged(stack, subject)
    found, names = asyncio.run(reads(3))
    assert found == [1, 1, 1]
    assert len(names) == 2, "the select and the access-log insert, once each"
    assert _logged(stack, subject) == logged + 3, "every read is in the access log"

    monkeypatch.setattr(prepared, "HELD", 1)  # each message now gives up the other one
    found, names = asyncio.run(reads(3))
    assert found == [1, 1, 1]
    assert len(names) == 1
    assert _logged(stack, subject) == logged + 6


def test_a_failed_message_does_not_leave_its_connection_believing_what_it_prepared(
    stack: ApiStack,
) -> None:
    """The select fails after its own ``PREPARE`` but before the insert's: the next read
    must not ``EXECUTE`` an insert that was never prepared on that connection."""
    subject = police_share(stack)
    context = stack.context
    caller = caller_for(context.core, stack.pipeline.tokens["gr_police"])
    params = {"subject": subject}

    async def run() -> int:
        with pytest.raises(Exception, match="division by zero"):
            await read_logged(context.reader, caller, _FAILING, params, "subject")
        rows = await read_logged(context.reader, caller, _ONE_SUBJECT, params, "subject")
        return len(rows)

    logged = _logged(stack, subject)
    assert asyncio.run(run()) == 1
    assert _logged(stack, subject) == logged + 1, "the failed read logged nothing"
