"""Protective orders: ``haven.protective-order.issued.v1`` / ``revoked.v1``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from events.types.common import (
    ContractModel,
    Countries,
    CountryCode,
    EventData,
    Family,
    Identifier,
    ShortText,
    Text,
    Timestamp,
)
from events.types.personal import KeyScope, Personal


class OrderType(StrEnum):
    """Kinds of protective orders."""

    NO_CONTACT = "no_contact"
    RESTRAINING = "restraining"
    WITNESS_PROTECTION = "witness_protection"
    RESIDENCE_BAN = "residence_ban"


class Respondent(ContractModel):
    """Whom the order binds: personal, sealed with the order's own key."""

    name: ShortText
    description: Text | None = None


class ProtectiveOrderIssued(EventData):
    """A court or prosecutor issued a protective order for the subject.

    ``valid_until`` after ``valid_from`` is checked by the engine, not here.
    """

    event_type: ClassVar[str] = "haven.protective-order.issued.v1"
    family: ClassVar[Family] = Family.PROTECTIVE_ORDER
    planned_times: ClassVar[frozenset[str]] = frozenset({"valid_from", "valid_until"})

    order_id: Identifier
    issued_at: Timestamp
    issuing_jurisdiction: CountryCode
    order_type: OrderType
    valid_from: Timestamp
    valid_until: Timestamp
    recognized_in: Countries
    respondent: Annotated[Respondent, Personal(KeyScope.ORDER)]


class ProtectiveOrderRevoked(EventData):
    """A protective order was revoked."""

    event_type: ClassVar[str] = "haven.protective-order.revoked.v1"
    family: ClassVar[Family] = Family.PROTECTIVE_ORDER

    order_id: Identifier
    revoked_at: Timestamp
    reason: Text
