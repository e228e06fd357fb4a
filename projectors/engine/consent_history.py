"""The consent history of a subject: grants (with evidence), withdrawals, expiries.

One row per accepted consent event in ``haven_core.consent_records``, in log
order, written in the batch transaction.  It holds ids, selectors, purposes,
times and the evidence of how consent was given: no personal data.  The API
serves it as ISO/IEC TS 27560-style consent records (docs/survivor-rights.md).
"""

from __future__ import annotations

from typing import Any

from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import CONSENT_RECORDS
from projectors.log import LoggedEvent


def record_consent(
    scope: BatchScope, logged: LoggedEvent, kind: str, extra: dict[str, Any] | None = None
) -> None:
    """Keep one accepted consent event (``granted``, ``withdrawn``, ``expired``)."""
    record = {**logged.data, **(extra or {})}
    context = scope.context
    scope.books.add(
        CONSENT_RECORDS,
        context.topic,
        context.partition,
        logged.offset,
        logged.subject,
        logged.event.id,
        kind,
        logged.producer,
        logged.event.time,
        record,
    )
