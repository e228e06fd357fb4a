"""Shared field types of the event contract.

Every constrained type here has a JSON Schema that says exactly what the
pydantic validator accepts, so the committed schemas in ``contracts/`` and the
models agree (the property tests check it).  Patterns are written in the
common subset of ECMA-262 and Python regular expressions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Final

import pycountry
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

#: Upper bound of every list in the contract (inputs stay bounded).
MAX_ITEMS: Final = 50

#: Agency ids become Kafka topic names (``haven.inbox.<id>.v1``), the Postgres
#: schema ``agency_<id>`` and database role names, hence lower-case ASCII only.
AGENCY_ID_PATTERN: Final = r"^[a-z][a-z0-9_]{1,39}$"
#: consent_id, placement_id, order_id, ...: a UUID is recommended.
IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
#: The common BCP 47 subset: language[-script][-region][-variant]*.
LANGUAGE_PATTERN: Final = (
    r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-[A-Za-z0-9]{5,8})*$"
)
#: RFC 3339 ``date-time``: seconds and a zone are required.
DATETIME_PATTERN: Final = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: RFC 3339 ``full-date``.
DATE_PATTERN: Final = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"

#: ISO 3166-1 alpha-2 codes (pycountry) plus the user-assigned "XK" (Kosovo).
COUNTRY_CODES: Final[tuple[str, ...]] = tuple(
    sorted({country.alpha_2 for country in pycountry.countries} | {"XK"})
)
_COUNTRIES: Final = frozenset(COUNTRY_CODES)
#: The JSON Schema of a country code (``schemas.py`` hoists it into ``$defs``).
COUNTRY_SCHEMA: Final = {"type": "string", "enum": list(COUNTRY_CODES)}


class ContractModel(BaseModel):
    """Base of every contract model: strict, closed and immutable.

    ``strict`` makes the model accept exactly what its JSON Schema accepts (no
    lax coercion of ``"1"`` to ``1`` or ``1`` to ``True``).  ``extra="forbid"``
    rejects unknown fields, so nothing can smuggle unsealed personal data past
    the sealer in a field it does not know about.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Family(StrEnum):
    """Event families: the unit the data-sharing policy speaks about."""

    IDENTIFICATION = "identification"
    RISK = "risk"
    PLACEMENT = "placement"
    CONSENT = "consent"
    PROTECTIVE_ORDER = "protective_order"
    #: Corrections of earlier events (routed by the target's recipients, not by policy).
    RECORD = "record"
    SYSTEM = "system"


class EventData(ContractModel):
    """Base of the ``data`` model of every event type.

    Cross-field rules that JSON Schema cannot express (e.g. ``valid_until``
    after ``valid_from``) are deliberately not checked here: the projection
    engine refuses such events, so that model and schema stay equivalent.
    """

    event_type: ClassVar[str]
    family: ClassVar[Family]
    #: Produced by Haven itself; never accepted from an agency.
    system: ClassVar[bool] = False
    #: The envelope must name the subject.
    requires_subject: ClassVar[bool] = True
    #: Fields holding a model whose own personal fields are sealed (``data.<f>.<name>``).
    nested_personal: ClassVar[tuple[str, ...]] = ()
    #: The log (sealed) form, when it cannot be derived from top-level personal fields.
    log_model: ClassVar[type[EventData] | None] = None
    #: Fields that name a planned (future) time, not a recorded act: inbound,
    #: they may lie beyond tomorrow (``events.storable``).
    planned_times: ClassVar[frozenset[str]] = frozenset()


class AgencyType(StrEnum):
    """Kinds of agencies (docs/rules.md "Subjects and agencies")."""

    COORDINATOR = "coordinator"
    POLICE = "police"
    PROSECUTOR = "prosecutor"
    COURT = "court"
    NGO = "ngo"
    SHELTER = "shelter"
    HEALTH = "health"
    LEGAL_AID = "legal_aid"
    CHILD_PROTECTION = "child_protection"
    IMMIGRATION = "immigration"
    LABOUR_INSPECTORATE = "labour_inspectorate"
    AUDITOR = "auditor"


def _country(value: object) -> object:
    if isinstance(value, str) and value not in _COUNTRIES:
        raise PydanticCustomError("country_code", "must be an ISO 3166-1 alpha-2 country code")
    return value


def _rfc3339(regex: str, kind: type, code: str, message: str) -> BeforeValidator:
    """Accept only RFC 3339 text (or, from Python code, an instance of ``kind``).

    The inner validator then runs lax, so it parses that text the way strict
    JSON mode would; anything else (numbers, other formats) never reaches it.
    """
    compiled = re.compile(regex)

    def check(value: object) -> object:
        if isinstance(value, kind) or (isinstance(value, str) and compiled.fullmatch(value)):
            return value
        raise PydanticCustomError(code, message)

    return BeforeValidator(check)


AgencyId = Annotated[str, StringConstraints(max_length=40, pattern=AGENCY_ID_PATTERN)]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=IDENTIFIER_PATTERN)
]
CountryCode = Annotated[str, BeforeValidator(_country), WithJsonSchema(COUNTRY_SCHEMA)]
LanguageTag = Annotated[str, StringConstraints(max_length=35, pattern=LANGUAGE_PATTERN)]
Timestamp = Annotated[
    AwareDatetime,
    Strict(False),
    _rfc3339(
        DATETIME_PATTERN, datetime, "rfc3339_datetime", "must be an RFC 3339 date-time with zone"
    ),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}),
]
CalendarDate = Annotated[
    date,
    Strict(False),
    _rfc3339(DATE_PATTERN, date, "rfc3339_date", "must be an RFC 3339 full-date (YYYY-MM-DD)"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Countries = Annotated[list[CountryCode], Field(max_length=MAX_ITEMS)]
AgencyIds = Annotated[list[AgencyId], Field(max_length=MAX_ITEMS)]
