"""Response models, generated from the projectors' tables so they never drift."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.dialects.postgresql import JSONB

from events.errors import FieldError

_PY_TYPES: tuple[tuple[type[Any], Any], ...] = (
    (JSONB, Any),
    (sa.DateTime, datetime),
    (sa.Date, date),
    (sa.Boolean, bool),
    (sa.Integer, int),
    (sa.Text, str),
    (sa.ARRAY, list[str]),
)


def _python_type(column: sa.Column[Any]) -> Any:
    for sql_type, python in _PY_TYPES:
        if isinstance(column.type, sql_type):
            return python if not column.nullable else python | None
    raise TypeError(f"no API type for column {column.name} ({column.type})")


@cache
def row_model(name: str, table: sa.Table, **extra: Any) -> type[BaseModel]:
    """A pydantic model with one field per column of ``table`` (plus ``extra`` fields)."""
    fields: dict[str, Any] = {c.name: (_python_type(c), ...) for c in table.columns}
    fields |= {key: (value, ...) for key, value in extra.items()}
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[Item]
    next_cursor: str | None = Field(None, description="absent on the last page")


class Accepted(BaseModel):
    """Events written to the caller's inbox; the sealer validates them again."""

    accepted: list[str]


class ProblemField(BaseModel):
    """One problem at one place of the input (never its value)."""

    path: str
    message: str
    code: str


class Problem(BaseModel):
    """Why a request was refused: an RFC 9457 problem document with Haven's members."""

    type: str = Field("about:blank", description="RFC 9457: the problem type")
    title: str | None = Field(None, description="RFC 9457: the HTTP status phrase")
    status: int | None = Field(None, description="RFC 9457: the HTTP status code")
    reason: str = Field(description="machine-readable reason, e.g. schema_violation")
    errors: list[ProblemField] = []

    @classmethod
    def of(cls, reason: str, errors: tuple[FieldError, ...] = ()) -> Problem:
        """From a contract error's reason and field errors."""
        return cls(reason=reason, errors=[ProblemField(**e.to_dict()) for e in errors])


class IndicatorCell(BaseModel):
    """One published jurisdiction-month (cells under 5 subjects suppressed)."""

    model_config = ConfigDict(extra="allow")

    jurisdiction: str | None
    month: Any
    subjects: int


class TrailEvent(BaseModel):
    """One log record about the subject: who produced it and who received it."""

    topic: str
    partition: int
    offset: int
    event_id: str
    event_type: str
    time: datetime
    producer: str
    jurisdiction: str | None
    outcome: str
    recipients: list[str]


class TrailRefusal(BaseModel):
    """An event about the subject that was refused, and why."""

    event_id: str
    producer: str
    event_type: str
    reason: str
    refused_at: datetime


class TrailRead(BaseModel):
    """One read of the subject's data through the API."""

    agency_id: str
    endpoint: str
    read_at: datetime


class AuditTrail(BaseModel):
    """A subject's audit trail: ids, types, times and counts, never a personal value."""

    subject_id: str
    events: list[TrailEvent]
    recipients: list[str]
    refusals: list[TrailRefusal]
    reads: list[TrailRead] | None
    erasure_receipts: list[dict[str, Any]]
    #: Who corrected which event, which fields, why (never the values).
    rectifications: list[dict[str, Any]]
    #: Per grant and agency, how many earlier events the grant shared.
    shared_by_grants: list[dict[str, Any]]
