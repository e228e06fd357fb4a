"""Registering an agency: validate, create its inbox, rows, schema, role, system event.

Validation happens before anything is created, with errors naming the
option and the reason.  The database part is one transaction (agency row,
hashed token, schema, role, outbox event); the inbox topic is created first
(idempotent, harmless if the transaction then fails); the system event is
relayed to the log last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import Engine

from events.errors import FieldError, field_errors
from events.topics import log_topic
from events.types.system import AgencyRegistered
from infra.topics import core_topics, ensure_topics, inbox_topic_spec
from projectors.directory.agencies import IssuedToken, create_agency_rows
from projectors.outbox.store import enqueue, relay_pending, system_event

_OPTION_NAMES = {
    "agency_id": "--id",
    "agency_type": "--type",
    "jurisdiction": "--jurisdiction",
    "name": "--name",
}


class InvalidAgency(ValueError):
    """The agency's id, type, jurisdiction or name is not acceptable."""

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{_OPTION_NAMES.get(e.path, e.path)}: {e.message}" for e in errors)
        )


@dataclass(frozen=True)
class Registration:
    """What registering created: the event, and the token shown once."""

    event: AgencyRegistered
    token: IssuedToken


def validate_agency(
    agency_id: str, agency_type: str, jurisdiction: str, name: str
) -> AgencyRegistered:
    """The registration event's data, or InvalidAgency listing every problem."""
    raw = {
        "agency_id": agency_id,
        "agency_type": agency_type,
        "jurisdiction": jurisdiction,
        "name": name,
    }
    try:
        return AgencyRegistered.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        raise InvalidAgency(field_errors(exc)) from None


def register_agency(
    engine: Engine,
    bootstrap_servers: str,
    *,
    topic_prefix: str,
    partitions: int,
    agency_id: str,
    agency_type: str,
    jurisdiction: str,
    name: str | None = None,
    token_expires_in_s: float | None = None,
) -> Registration:
    """Register an agency end to end (raises InvalidAgency or AgencyExists)."""
    data = validate_agency(agency_id, agency_type, jurisdiction.upper(), name or agency_id)
    ensure_topics(
        bootstrap_servers,
        [
            *core_topics(topic_prefix, partitions),
            inbox_topic_spec(topic_prefix, agency_id, partitions),
        ],
    )
    event = system_event(data)
    with engine.begin() as conn:
        token = create_agency_rows(
            conn,
            data.agency_id,
            data.agency_type.value,
            data.jurisdiction,
            data.name,
            token_expires_in_s=token_expires_in_s,
        )
        enqueue(conn, event)
    relay_pending(engine, bootstrap_servers, log_topic(topic_prefix))
    return Registration(data, token)
