"""Response models of the survivor's-rights endpoints: disclosure, export, consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ReadSummary(BaseModel):
    """How often one agency read the subject's data through one endpoint."""

    agency_id: str
    endpoint: str
    reads: int
    last_read_at: datetime


class Holder(BaseModel):
    """One agency holding rows about the subject: basis, since when, which fields."""

    agency_id: str
    agency_type: str | None
    jurisdiction: str | None
    since: datetime
    bases: list[str] = Field(description="producer, consent, or a lawful basis id")
    consent_ids: list[str] = Field(description="active grants that cover it")
    lawful_bases: list[str]
    events: dict[str, int] = Field(description="events held, by type")
    fields: dict[str, list[str]] = Field(description="field names held, by event type")


class ErasureLine(BaseModel):
    """One erasure receipt line: counts and bases, never values."""

    withdrawal_event_id: str
    cause: str
    agency_id: str
    projector: str
    rows_erased: int
    rows_retained: int
    retained_bases: list[str]
    key_action: str
    created_at: datetime


class RectificationLine(BaseModel):
    """Who corrected which event, which fields and why (no values)."""

    rectification_event_id: str
    target_event_id: str
    target_type: str
    producer: str
    reason: str
    retract: bool
    field_names: list[str]
    agencies: list[str]
    rectified_at: datetime


class SharedLine(BaseModel):
    """How many earlier events a grant shared with one agency."""

    grant_event_id: str
    consent_id: str
    agency_id: str
    events_shared: int
    granted_at: datetime


class Disclosure(BaseModel):
    """Who holds what about the subject, why, since when, who read it (GDPR Art. 15)."""

    subject_id: str
    requested_by: str
    generated_at: datetime
    holders: list[Holder]
    reads: list[ReadSummary]
    erasures: list[ErasureLine]
    rectifications: list[RectificationLine]
    shared_by_grants: list[SharedLine]


class Export(BaseModel):
    """Everything the caller may see about the subject, personal fields opened (Art. 20)."""

    format: str
    subject_id: str
    agency_id: str
    exported_at: datetime
    read_models: dict[str, list[dict[str, Any]]]


class ConsentEvent(BaseModel):
    """One step of a consent record's life: given, withdrawn or expired."""

    event_type: str
    event_id: str
    time: datetime
    actor: str
    method: str | None = None


class ConsentRecord(BaseModel):
    """One grant as an ISO/IEC TS 27560-style consent record (docs/survivor-rights.md)."""

    schema_version: str
    record_id: str
    pii_principal_id: str
    controller: str
    consent_status: str
    purposes: list[str]
    lawful_basis: str
    recipients: dict[str, list[str]]
    given_at: datetime
    expires_at: datetime | None
    notice: dict[str, Any] | None
    collection: dict[str, Any] | None
    events: list[ConsentEvent]
