"""Dead-letter records: rejected input, kept sealed, with a machine-readable reason.

The original bytes may hold plaintext personal data, so they are sealed under
the day's DLQ key (destroyed after the DLQ retention).  The reason and field
errors come from :class:`events.errors.ContractError`, which never echoes
input values.  The record key is kept only when it is a well-formed UUID
(a subject id): a malformed key could itself be personal data.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from events.errors import ContractError
from events.sealing import seal_value

DLQ_VERSION = "v1"


@dataclass(frozen=True)
class InboxRecord:
    """Where a raw inbox record came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def safe_subject_key(key: bytes | None) -> bytes | None:
    """The record key if it is a UUID, else None."""
    if not key:
        return None
    try:
        return str(uuid.UUID(key.decode("ascii"))).encode()
    except (UnicodeDecodeError, ValueError):
        return None


def dlq_seal_id(record: InboxRecord) -> str:
    """The associated-data id binding the sealed original to its inbox position."""
    return f"dlq:{record.topic}:{record.partition}:{record.offset}"


def dlq_payload(
    record: InboxRecord, error: ContractError, *, key: bytes, kid: str, received_at: datetime
) -> bytes:
    """The DLQ record value for a rejected inbox record."""
    original = base64.b64encode(record.value).decode("ascii")
    body = {
        "dlq": DLQ_VERSION,
        **error.to_dict(),
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
        "size_bytes": len(record.value),
        "received_at": received_at.isoformat(),
        "original": seal_value(key, kid, dlq_seal_id(record), "original", original),
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
