"""The CloudEvents 1.0 envelope (structured JSON mode) with Haven's extensions.

Two models: :class:`Envelope` is the wire form as read from JSON (``data``
still an untyped object), :class:`Event` is a validated event whose ``data``
is the model of its type.  ``null`` attributes count as absent (CloudEvents
JSON format).  Unknown attributes are rejected: an unknown extension could
otherwise carry personal data past the sealer.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Generic, Literal

from pydantic import SerializeAsAny, StringConstraints
from typing_extensions import TypeVar

from events.types.common import (
    AGENCY_ID_PATTERN,
    AgencyId,
    ContractModel,
    CountryCode,
    EventData,
    Timestamp,
)

SPECVERSION: Final = "1.0"
DATA_CONTENT_TYPE: Final = "application/json"
#: Structured-mode content type (Kafka header / HTTP Content-Type).
CLOUDEVENTS_CONTENT_TYPE: Final = "application/cloudevents+json"
SYSTEM_SOURCE: Final = "urn:haven:system"
AGENCY_SOURCE_PREFIX: Final = "urn:haven:agency:"
SCHEMA_URI_PREFIX: Final = "urn:haven:schema:"
SOURCE_PATTERN: Final = rf"^urn:haven:(?:agency:{AGENCY_ID_PATTERN[1:-1]}|system)$"
#: Subjects are canonical (lower-case, hyphenated) UUIDs: one subject, one Kafka key.
SUBJECT_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
#: Event ids: visible ASCII (a UUID is recommended); unique per source.
EVENT_ID_PATTERN: Final = r"^[!-~]+$"

EventId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=EVENT_ID_PATTERN)]
Source = Annotated[str, StringConstraints(max_length=64, pattern=SOURCE_PATTERN)]
SubjectId = Annotated[str, StringConstraints(max_length=36, pattern=SUBJECT_PATTERN)]
TypeName = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=EVENT_ID_PATTERN)]
#: W3C Trace Context: ``<version>-<trace id>-<parent id>-<flags>`` in lower-case hex.
TRACEPARENT_PATTERN: Final = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TraceParent = Annotated[str, StringConstraints(max_length=55, pattern=TRACEPARENT_PATTERN)]
#: W3C Trace Context: up to 32 ``key=value`` members, printable ASCII.
TraceState = Annotated[str, StringConstraints(max_length=512, pattern=r"^[ -~]*$")]
SchemaUri = Annotated[str, StringConstraints(min_length=1, max_length=512)]

#: ``Event`` alone means ``Event[EventData]``.
DataT = TypeVar("DataT", bound=EventData, default=EventData)


def schema_uri(event_type: str) -> str:
    """The ``dataschema`` URI (and JSON Schema ``$id``) of an event type."""
    return f"{SCHEMA_URI_PREFIX}{event_type}"


def agency_source(agency_id: str) -> str:
    """The CloudEvents ``source`` of an agency."""
    return f"{AGENCY_SOURCE_PREFIX}{agency_id}"


def source_agency(source: str) -> str | None:
    """The agency id named by a ``source``; None for ``urn:haven:system``."""
    if source.startswith(AGENCY_SOURCE_PREFIX):
        return source[len(AGENCY_SOURCE_PREFIX) :]
    return None


class _Attributes(ContractModel):
    """CloudEvents attributes shared by the wire form and the typed event."""

    id: EventId
    source: Source
    subject: SubjectId | None = None
    time: Timestamp
    #: Extension: the producing agency (absent on system events).
    agency: AgencyId | None = None
    #: Extension: ISO 3166-1 alpha-2 country where the recorded act happened.
    jurisdiction: CountryCode | None = None
    #: Extension (CloudEvents distributed tracing): the W3C ``traceparent``.
    traceparent: TraceParent | None = None
    #: Extension (CloudEvents distributed tracing): the W3C ``tracestate``.
    tracestate: TraceState | None = None


class Envelope(_Attributes):
    """A CloudEvent in structured JSON mode, before its ``data`` is typed.

    Checked beyond this schema, per type: ``agency`` equals the agency in
    ``source`` (and the inbox or caller), ``subject`` presence, ``dataschema``.
    """

    specversion: Literal["1.0"]
    type: TypeName
    datacontenttype: Literal["application/json"] | None = None
    dataschema: SchemaUri | None = None
    data: dict[str, Any]


class Event(_Attributes, Generic[DataT]):
    """A validated Haven event: envelope attributes plus the typed ``data``.

    ``type``, ``dataschema``, ``specversion`` and ``datacontenttype`` follow
    from ``data`` and are properties.  ``data`` is the sealed variant of its
    model when the event was read from the log.
    """

    data: SerializeAsAny[DataT]

    @property
    def type(self) -> str:
        """The CloudEvents ``type``: the event type of ``data``."""
        return self.data.event_type

    @property
    def dataschema(self) -> str:
        """The schema URI of the event's type."""
        return schema_uri(self.data.event_type)

    @property
    def specversion(self) -> str:
        """Always ``"1.0"``."""
        return SPECVERSION

    @property
    def datacontenttype(self) -> str:
        """Always ``application/json``."""
        return DATA_CONTENT_TYPE

    @property
    def source_agency(self) -> str | None:
        """The agency named in ``source``; None for system events."""
        return source_agency(self.source)

    @property
    def is_system(self) -> bool:
        """True for events produced by Haven itself."""
        return self.data.system

    def to_cloudevent(self) -> dict[str, Any]:
        """The structured-mode JSON object (``null`` attributes and fields left out)."""
        # One serializer pass: ``data`` is SerializeAsAny, so it dumps as its own model.
        return self.model_dump(mode="json", exclude_none=True) | {
            "specversion": SPECVERSION,
            "type": self.type,
            "datacontenttype": DATA_CONTENT_TYPE,
            "dataschema": self.dataschema,
        }
