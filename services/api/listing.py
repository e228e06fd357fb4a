"""Running one page of a read-model list as the caller, unsealed and access-logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.access_log import record_reads
from services.api.db.agency import select_as_agency
from services.api.db.unseal import unseal
from services.api.pagination import invalid_cursor, page_of, page_query


def list_page(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
    endpoint: str | None,
) -> dict[str, Any]:
    """``{"items", "next_cursor"}``; subject reads are logged when ``endpoint`` is given."""
    names = [column.name for column in query.selected_columns]
    rows, next_cursor = page_rows(context, caller, query, order, page)
    items = [unseal({n: row[n] for n in names}, context.keyring.key) for row in rows]
    if endpoint is not None:
        subjects = [str(item["subject_id"]) for item in items if item.get("subject_id")]
        record_reads(context.core, caller.agency_id, endpoint, subjects)
    return {"items": items, "next_cursor": next_cursor}


def page_rows(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
) -> tuple[list[Mapping[Any, Any]], str | None]:
    """One page of ``query`` under the caller's role, in one round trip, and the next cursor."""
    cursor, limit = page
    try:
        rows = select_as_agency(context.reader, caller, page_query(query, order, cursor, limit))
    except psycopg.errors.DataError:
        raise invalid_cursor() from None
    return page_of(rows, len(order), limit)
