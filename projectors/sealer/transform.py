"""One inbox record in, one log or DLQ record out: the sealer's pure core.

``classify`` runs the contract checks in the order of docs/architecture.md (size, JSON,
envelope and agency, known type, schema) and adds the registry check
(``unknown_agency``).  ``seal_event`` replaces each personal field by its
sealed form under the subject's current key epoch, or the order's key for a
protective order's respondent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.binary_mode import kafka_inbound
from events.canonical import canonical_json
from events.codec import parse_inbound
from events.envelope import Event
from events.errors import ContractError
from events.limits import MAX_EVENT_BYTES
from events.sealing import seal_value
from events.types.personal import KeyScope, personal_paths

KidForSubject = Callable[[str], str]
KidForOrder = Callable[[str], str]
#: The key of a key id, or a cipher made of it (``events.sealing.seal_value``).
KeyForKid = Callable[[str], bytes | AESGCM]


@dataclass(frozen=True)
class Accepted:
    """A valid event from a registered agency, ready to seal."""

    event: Event[Any]


@dataclass(frozen=True)
class Rejected:
    """An input that goes to the DLQ, with why."""

    error: ContractError


def classify(
    raw: bytes,
    topic_agency: str,
    registered: frozenset[str],
    headers: Iterable[tuple[str, bytes]] | None = None,
) -> Accepted | Rejected:
    """Validate one inbox record, structured or binary mode; never raises on bad input."""
    try:
        event = parse_inbound(
            kafka_inbound(raw, headers),
            inbox_agency=topic_agency,
            max_bytes=MAX_EVENT_BYTES,
            is_known_agency=registered.__contains__,
        )
    except ContractError as error:
        return Rejected(error)
    return Accepted(event)


def sealed_order_id(event: Event[Any]) -> str | None:
    """The order whose respondent key :func:`seal_event` will need for ``event``, if any."""
    for path, scope in personal_paths(event.data):
        holder: Any = event.data
        for name in path:
            holder = getattr(holder, name, None)
        if scope is KeyScope.ORDER and holder is not None:
            return str(event.data.order_id)
    return None


def seal_event(
    event: Event[Any], subject_kid: KidForSubject, order_kid: KidForOrder, key_for: KeyForKid
) -> bytes:
    """The canonical log bytes of ``event`` with every personal field sealed."""
    body = event.to_cloudevent()
    data = body["data"]
    for path, scope in personal_paths(event.data):
        *parents, field = path
        holder = data
        for name in parents:
            holder = holder[name]
        if holder.get(field) is None:
            continue
        if scope is KeyScope.ORDER:
            kid = order_kid(str(data["order_id"]))
        else:
            kid = subject_kid(str(event.subject))
        where = ".".join(("data", *path))
        holder[field] = seal_value(key_for(kid), kid, event.id, where, holder[field])
    return canonical_json(body)
