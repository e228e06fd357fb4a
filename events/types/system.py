"""System events: produced by Haven itself, never accepted from an inbox.

They put every change of "who receives what" into the log, so that a replay
sees the world change at the same point as it did live (docs/architecture.md, Deterministic replay).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from events.types.common import (
    AgencyId,
    AgencyType,
    CountryCode,
    EventData,
    Family,
    Identifier,
    ShortText,
    Timestamp,
)
from events.types.personal import KeyId


class _SystemEvent(EventData):
    system: ClassVar[bool] = True
    family: ClassVar[Family] = Family.SYSTEM


class AgencyRegistered(_SystemEvent):
    """An agency joined Haven (its API token never appears in the log)."""

    event_type: ClassVar[str] = "haven.agency.registered.v1"
    requires_subject: ClassVar[bool] = False

    agency_id: AgencyId
    agency_type: AgencyType
    jurisdiction: CountryCode
    name: ShortText


class AgencyUpdated(_SystemEvent):
    """An agency's type, jurisdiction or name changed (the full new state)."""

    event_type: ClassVar[str] = "haven.agency.updated.v1"
    requires_subject: ClassVar[bool] = False

    agency_id: AgencyId
    agency_type: AgencyType
    jurisdiction: CountryCode
    name: ShortText


class PolicyActivated(_SystemEvent):
    """A data-sharing policy version took effect from this point of the log."""

    event_type: ClassVar[str] = "haven.policy.activated.v1"
    requires_subject: ClassVar[bool] = False

    policy_version: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"),
    ]
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ConsentExpired(_SystemEvent):
    """A grant's ``expires_at`` passed; the subject is the envelope's subject."""

    event_type: ClassVar[str] = "haven.consent.expired.v1"

    consent_id: Identifier
    expired_at: Timestamp


class ErasureExecuted(_SystemEvent):
    """The erasure hold of a withdrawal ended and the subject's key epochs were destroyed."""

    event_type: ClassVar[str] = "haven.erasure.executed.v1"

    key_ids: Annotated[list[KeyId], Field(max_length=1_000)]
    executed_at: Timestamp
    withdrawal_event_id: Annotated[
        str, StringConstraints(min_length=1, max_length=256, pattern=r"^[!-~]+$")
    ]
