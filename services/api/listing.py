"""Running one page of a read-model list as the caller, unsealed and access-logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.agency import select_as_agency
from services.api.db.opening import log_and_open
from services.api.pagination import invalid_cursor, page_of, page_query


async def list_page(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
    endpoint: str | None,
) -> dict[str, Any]:
    """``{"items", "next_cursor"}``; subject reads are logged when ``endpoint`` is given.

    Two round trips at most, like a subject read: the page under the
    caller's role, then the access-log rows together with the keys of its
    sealed fields that the cache does not hold (neither: no second trip).
    """
    names = [column.name for column in query.selected_columns]
    rows, next_cursor = await page_rows(context, caller, query, order, page)
    found = [{n: row[n] for n in names} for row in rows]
    subjects = [str(item["subject_id"]) for item in found if item.get("subject_id")]
    read = (caller.agency_id, endpoint, subjects)
    items = await log_and_open(context.core, context.keyring, read, found)
    return {"items": items, "next_cursor": next_cursor}


async def page_rows(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
) -> tuple[list[Mapping[Any, Any]], str | None]:
    """One page of ``query`` under the caller's role, in one round trip, and the next cursor."""
    cursor, limit = page
    try:
        rows = await select_as_agency(
            context.reader, caller, page_query(query, order, cursor, limit)
        )
    except psycopg.errors.DataError:
        raise invalid_cursor() from None
    return page_of(rows, len(order), limit)
