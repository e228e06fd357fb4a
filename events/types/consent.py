"""Consent: ``haven.consent.granted.v1`` / ``haven.consent.withdrawn.v1``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from events.types.common import (
    MAX_ITEMS,
    AgencyIds,
    AgencyType,
    ContractModel,
    Countries,
    EventData,
    Family,
    Identifier,
    LanguageTag,
    ShortText,
    Timestamp,
)

_SELECTORS = ("agencies", "agency_types", "jurisdictions")


class Purpose(StrEnum):
    """What shared data may be used for."""

    CARE = "care"
    PROTECTION = "protection"
    INVESTIGATION = "investigation"
    PROSECUTION = "prosecution"
    LEGAL_ASSISTANCE = "legal_assistance"
    RESIDENCE_STATUS = "residence_status"
    STATISTICS = "statistics"


class Recipients(ContractModel):
    """Who a grant covers: every non-empty selector must match; at least one is non-empty."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"minItems": 1}}} for name in _SELECTORS
            ]
        }
    )

    agencies: AgencyIds = []
    agency_types: Annotated[list[AgencyType], Field(max_length=MAX_ITEMS)] = []
    jurisdictions: Countries = []

    @model_validator(mode="after")
    def _one_selector(self) -> Recipients:
        if not (self.agencies or self.agency_types or self.jurisdictions):
            raise PydanticCustomError(
                "no_recipient_selector",
                "at least one of agencies, agency_types, jurisdictions must be non-empty",
            )
        return self


class EvidenceMethod(StrEnum):
    """How the survivor gave consent."""

    WRITTEN = "written"
    ORAL_WITNESSED = "oral_witnessed"
    DIGITAL = "digital"
    GUARDIAN = "guardian"


class ConsentEvidence(ContractModel):
    """How consent was given and recorded (GDPR Art. 7(1)); no personal data.

    Added to ``consent.granted.v1`` as an optional field: every earlier grant
    stays valid as it is, so no new type version and no upcaster are needed.
    """

    method: EvidenceMethod
    notice_version: ShortText
    notice_language: LanguageTag
    recorded_by_role: ShortText
    interpreter_used: bool = False


class ConsentGranted(EventData):
    """The subject consented to share with the recipients for the purposes."""

    event_type: ClassVar[str] = "haven.consent.granted.v1"
    family: ClassVar[Family] = Family.CONSENT
    planned_times: ClassVar[frozenset[str]] = frozenset({"expires_at"})

    consent_id: Identifier
    granted_at: Timestamp
    recipients: Recipients
    purposes: Annotated[list[Purpose], Field(min_length=1, max_length=MAX_ITEMS)]
    expires_at: Timestamp | None = None
    evidence: ConsentEvidence | None = None


class ConsentIdsScope(ContractModel):
    """Withdraw these grants."""

    consent_ids: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_ITEMS)]


class AgenciesScope(ContractModel):
    """Withdraw every grant's coverage of these agencies."""

    agencies: Annotated[AgencyIds, Field(min_length=1)]


def _scope_tag(value: object) -> str | None:
    """Pick the scope variant from its shape (never from its content)."""
    if isinstance(value, str):
        return "scope-all"
    if isinstance(value, ContractModel):
        value = type(value).model_fields
    if isinstance(value, dict) and "consent_ids" in value:
        return "scope-consent-ids"
    if isinstance(value, dict) and "agencies" in value:
        return "scope-agencies"
    return None


WithdrawalScope = Annotated[
    Annotated[Literal["all"], Tag("scope-all")]
    | Annotated[ConsentIdsScope, Tag("scope-consent-ids")]
    | Annotated[AgenciesScope, Tag("scope-agencies")],
    Discriminator(
        _scope_tag,
        custom_error_type="withdrawal_scope",
        custom_error_message='must be "all", {"consent_ids": [...]} or {"agencies": [...]}',
    ),
]


class ConsentWithdrawn(EventData):
    """The subject withdrew consent: all grants, some grants, or some agencies."""

    event_type: ClassVar[str] = "haven.consent.withdrawn.v1"
    family: ClassVar[Family] = Family.CONSENT

    withdrawn_at: Timestamp
    scope: WithdrawalScope
    erase_personal_data: bool = False
