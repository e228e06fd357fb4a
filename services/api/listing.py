"""Running one page of a read-model list as the caller, unsealed and access-logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.agency import select_as_agency, select_logged
from services.api.db.opening import open_sealed
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

    One round trip, like a subject read: the page under the caller's role
    and the access-log rows of its subjects in one transaction; a second only
    for the keys of its sealed fields that the cache does not hold.
    """
    names = [column.name for column in query.selected_columns]
    log = None if endpoint is None else (endpoint, ())
    rows, next_cursor = await page_rows(context, caller, query, order, page, log)
    found = [{n: row[n] for n in names} for row in rows]
    items = await open_sealed(context.core, context.keyring, found)
    return {"items": items, "next_cursor": next_cursor}


async def page_rows(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
    log: tuple[str, Sequence[str]] | None = None,
) -> tuple[list[Mapping[Any, Any]], str | None]:
    """One page of ``query`` under the caller's role, in one round trip, and the next
    cursor.  ``log``: ``(endpoint, always)``, to log in the same transaction the
    subjects of the page's rows and ``always`` (``db.agency.read_logged``)."""
    cursor, limit = page
    paged = page_query(query, order, cursor, limit)
    try:
        if log is None:
            rows = await select_as_agency(context.reader, caller, paged)
        else:
            endpoint, always = log
            rows = await select_logged(
                context.reader, caller, paged, endpoint, shown=limit, always=always
            )
    except psycopg.errors.DataError:
        raise invalid_cursor() from None
    return page_of(rows, len(order), limit)
