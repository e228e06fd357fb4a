"""Publisher SDK: validated CloudEvents into an agency's inbox, on kafka-python.

Every event is checked against the contract before it leaves the process, so
an agency system learns about a bad event at once, with field paths, instead
of finding it later in the dead-letter queue.  Records go to
``<prefix>.inbox.<agency>.v1`` keyed by subject (so one subject's events stay
in order), in CloudEvents structured mode, with ``acks=all`` and the
idempotent producer.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from kafka import KafkaAdminClient, KafkaProducer

from events.codec import encode, parse_inbound
from events.envelope import Event
from events.errors import ContractError, FieldError, RejectReason
from events.limits import MAX_EVENT_BYTES, MAX_MESSAGE_BYTES
from events.topics import inbox_topic

CONTENT_TYPE_HEADER = ("content-type", b"application/cloudevents+json")


class InboxMissingError(RuntimeError):
    """The agency's inbox topic does not exist on the broker."""


@dataclass(frozen=True)
class Delivery:
    """Where the broker stored one published event."""

    event_id: str
    subject: str | None
    topic: str
    partition: int
    offset: int


class SendFuture(Protocol):
    """The part of kafka-python's FutureRecordMetadata the publisher uses."""

    def get(self, timeout: float | None = None) -> Any:
        """Block until the broker acknowledged the record."""


@dataclass(frozen=True)
class PendingDelivery:
    """An event handed to the producer, not yet acknowledged."""

    event: Event
    future: SendFuture

    def result(self, timeout_s: float = 30.0) -> Delivery:
        """Wait for the broker's acknowledgement."""
        metadata = self.future.get(timeout=timeout_s)
        return Delivery(
            event_id=self.event.id,
            subject=self.event.subject,
            topic=metadata.topic,
            partition=metadata.partition,
            offset=metadata.offset,
        )


def producer_config(bootstrap_servers: str, request_timeout_ms: int) -> dict[str, Any]:
    """The kafka-python settings every Haven publisher uses."""
    return {
        "bootstrap_servers": bootstrap_servers.split(","),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "retries": 2**31 - 1,
        "linger_ms": 5,
        "max_request_size": MAX_MESSAGE_BYTES,
        "request_timeout_ms": request_timeout_ms,
        "max_block_ms": request_timeout_ms,
        "client_id": "haven-publisher",
    }


class Publisher:
    """Sends one agency's events to its inbox topic.

    Use as a context manager so buffered events are flushed and the
    connection closed::

        with Publisher("127.0.0.1:9092", agency_id="gr_police") as publisher:
            publisher.send_bytes(raw_cloudevent).result()
    """

    def __init__(
        self,
        bootstrap_servers: str,
        agency_id: str,
        *,
        topic_prefix: str = "haven",
        request_timeout_ms: int = 30_000,
    ) -> None:
        self.agency_id = agency_id
        self._bootstrap = bootstrap_servers.split(",")
        self.topic = inbox_topic(topic_prefix, agency_id)
        self._producer = KafkaProducer(**producer_config(bootstrap_servers, request_timeout_ms))
        self._timeout_s = request_timeout_ms / 1000

    def ensure_inbox(self) -> None:
        """Fail clearly when the agency's inbox topic does not exist.

        Asks for the topic list rather than the topic's metadata: brokers with
        automatic topic creation (the embedded one) would create it otherwise.
        """
        admin = KafkaAdminClient(bootstrap_servers=self._bootstrap, client_id="haven-publisher")
        try:
            exists = self.topic in admin.list_topics()
        finally:
            admin.close()
        if not exists:
            raise InboxMissingError(
                f"topic {self.topic} does not exist: register the agency first "
                f"(haven agency add --id {self.agency_id} ...)"
            )

    def send_bytes(self, raw: bytes) -> PendingDelivery:
        """Validate a structured-mode CloudEvent and send it (raises ContractError)."""
        return self.send(parse_inbound(raw, inbox_agency=self.agency_id, max_bytes=MAX_EVENT_BYTES))

    def send(self, event: Event) -> PendingDelivery:
        """Send an already validated event produced by this agency (raises ContractError)."""
        if event.agency != self.agency_id:  # Event objects can also be built in code
            raise ContractError(
                RejectReason.AGENCY_MISMATCH,
                [FieldError("agency", "must be the agency of the inbox or caller", "invalid")],
            )
        future = self._producer.send(
            self.topic,
            key=event.subject.encode() if event.subject else None,
            value=encode(event),
            headers=[CONTENT_TYPE_HEADER],
        )
        return PendingDelivery(event=event, future=future)

    def flush(self) -> None:
        """Block until every buffered event is acknowledged or failed."""
        self._producer.flush(timeout=self._timeout_s)

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=self._timeout_s)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
