"""Keyset pagination with opaque cursors over non-null sort keys."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException
from sqlalchemy import Connection, Select

from events.errors import FieldError
from services.api.models import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def _encode(values: Sequence[Any]) -> str:
    text = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _bad_cursor() -> HTTPException:
    problem = Problem.of("invalid_cursor", (FieldError("cursor", "not a cursor of this list"),))
    return HTTPException(422, detail=problem.model_dump())


def _decode(cursor: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != width:
        raise _bad_cursor()
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        raise _bad_cursor()
    return values


def page_query(
    query: Select[Any], order: Sequence[sa.ColumnElement[Any]], cursor: str | None, limit: int
) -> Select[Any]:
    """``query`` limited to one page after ``cursor``, with the sort keys as ``_k0``, ``_k1``..."""
    keys = [expression.label(f"_k{i}") for i, expression in enumerate(order)]
    query = query.add_columns(*keys).order_by(*order).limit(limit + 1)
    if cursor is not None:
        after = [
            sa.cast(sa.literal(value), expression.type)
            for value, expression in zip(_decode(cursor, len(order)), order, strict=True)
        ]
        query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
    return query


def page_of(
    rows: Sequence[Mapping[Any, Any]], width: int, limit: int
) -> tuple[list[Mapping[Any, Any]], str | None]:
    """The page's rows (from :func:`page_query`) and the cursor after them, if more follow."""
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), _encode([last[f"_k{i}"] for i in range(width)])


def fetch_page(
    conn: Connection,
    query: Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    cursor: str | None,
    limit: int,
) -> tuple[list[Mapping[Any, Any]], str | None]:
    """Rows after ``cursor`` in ``order`` (ascending, non-null keys) and the next cursor."""
    try:
        rows = conn.execute(page_query(query, order, cursor, limit)).mappings().all()
    except sa.exc.DataError:
        raise _bad_cursor() from None
    return page_of(rows, len(order), limit)


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor over ``values`` (for feeds that page by hand)."""
    return _encode(values)


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The values of a cursor from :func:`encode_cursor`, or 422 ``invalid_cursor``."""
    return _decode(cursor, width)


def invalid_cursor() -> HTTPException:
    """422 ``invalid_cursor`` at ``cursor``."""
    return _bad_cursor()
