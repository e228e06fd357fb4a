"""Running one page of a read-model list as the caller, unsealed and access-logged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.access_log import record_reads
from services.api.db.agency import as_agency
from services.api.db.unseal import unseal
from services.api.pagination import fetch_page


def list_page(
    context: ApiContext,
    caller: Caller,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: tuple[str | None, int],
    endpoint: str | None,
) -> dict[str, Any]:
    """``{"items", "next_cursor"}``; subject reads are logged when ``endpoint`` is given."""
    cursor, limit = page
    names = [column.name for column in query.selected_columns]
    with as_agency(context.reader, caller) as conn:
        rows, next_cursor = fetch_page(conn, query, order, cursor, limit)
    items = [unseal({n: row._mapping[n] for n in names}, context.keyring.key) for row in rows]
    if endpoint is not None:
        subjects = [str(item["subject_id"]) for item in items if item.get("subject_id")]
        record_reads(context.core, caller.agency_id, endpoint, subjects)
    return {"items": items, "next_cursor": next_cursor}
