"""The consent history of a subject: grants (with evidence), withdrawals, expiries.

One row per accepted consent event in ``haven_core.consent_records``, in log
order, written in the batch transaction.  It holds ids, selectors, purposes,
times and the evidence of how consent was given: no personal data.  The API
serves it as ISO/IEC TS 27560-style consent records (docs/survivor-rights.md).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from projectors.engine.batch import BatchScope
from projectors.log import LoggedEvent


def record_consent(
    scope: BatchScope, logged: LoggedEvent, kind: str, extra: dict[str, Any] | None = None
) -> None:
    """Keep one accepted consent event (``granted``, ``withdrawn``, ``expired``)."""
    record = {**logged.data, **(extra or {})}
    context = scope.context
    scope.conn.execute(
        text(
            "INSERT INTO haven_core.consent_records (topic, partition, log_offset, subject_id,"
            " event_id, kind, producer, at, record) VALUES (:t, :p, :o, :s, :e, :k, :pr, :at,"
            " CAST(:r AS jsonb)) ON CONFLICT DO NOTHING"
        ),
        {
            "t": context.topic,
            "p": context.partition,
            "o": logged.offset,
            "s": logged.subject,
            "e": logged.event.id,
            "k": kind,
            "pr": logged.producer,
            "at": logged.event.time,
            "r": json.dumps(record, sort_keys=True),
        },
    )
