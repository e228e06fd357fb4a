"""Identification of a presumed victim: ``haven.victim.identified.v1``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from events.types.common import (
    MAX_ITEMS,
    CalendarDate,
    ContractModel,
    Countries,
    EventData,
    Family,
    LanguageTag,
    ShortText,
    Timestamp,
)
from events.types.personal import KeyScope, Personal


class ExploitationType(StrEnum):
    """Forms of exploitation (docs/rules.md "Event types")."""

    SEXUAL = "sexual"
    FORCED_LABOUR = "forced_labour"
    DOMESTIC_SERVITUDE = "domestic_servitude"
    FORCED_CRIMINALITY = "forced_criminality"
    FORCED_BEGGING = "forced_begging"
    FORCED_MARRIAGE = "forced_marriage"
    ORGAN_REMOVAL = "organ_removal"
    OTHER = "other"


class PersonalDetails(ContractModel):
    """Who the subject is: personal, sealed as a whole with the subject's key epoch."""

    full_name: ShortText
    date_of_birth: CalendarDate | None = None
    contact: ShortText | None = None


class VictimIdentified(EventData):
    """A person was identified as a presumed victim; the subject id is issued here.

    ``nationality`` may be empty when it is not known.
    """

    event_type: ClassVar[str] = "haven.victim.identified.v1"
    family: ClassVar[Family] = Family.IDENTIFICATION

    identified_at: Timestamp
    nationality: Countries
    exploitation_types: Annotated[list[ExploitationType], Field(max_length=MAX_ITEMS)]
    indicators: Annotated[list[ShortText], Field(max_length=MAX_ITEMS)]
    is_minor: bool
    gender: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    age_band: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    languages: Annotated[list[LanguageTag], Field(max_length=MAX_ITEMS)]
    personal: Annotated[PersonalDetails, Personal(KeyScope.SUBJECT)]
