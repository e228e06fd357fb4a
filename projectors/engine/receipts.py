"""Erasure receipts and notices: ids and counts only, never personal data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from infra.bulk import text_array
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import NOTICES, RECEIPTS
from projectors.log import LoggedEvent

NOTICE_TYPE = "haven.erasure.notice.v1"


@dataclass(frozen=True)
class KeyAction:
    """What happens to the subject's keys: none, not_honoured, scheduled, destroyed."""

    action: str
    reason: str | None = None
    due_at: datetime | None = None


Counts = tuple[int, int, tuple[str, ...]]  # rows erased, rows retained, retained lawful bases


def write_receipt(
    scope: BatchScope,
    logged: LoggedEvent,
    agency_id: str,
    projector: str,
    cause: str,
    counts: Counts,
    key: KeyAction,
) -> None:
    """One receipt row (``*``/``*`` is the withdrawal's summary row)."""
    erased, retained, bases = counts
    horizon = scope.settings.backup_horizon
    # Written before a later grant of the subject, which may cancel its key destruction.
    scope.touched.setdefault(str(logged.subject), set())
    scope.books.add(
        RECEIPTS,
        logged.event.id,
        logged.subject,
        agency_id,
        projector,
        cause,
        erased,
        retained,
        text_array(bases),
        key.action,
        key.reason,
        key.due_at,
        horizon,
    )


def notice_id(withdrawal_event_id: str, agency_id: str) -> str:
    """Deterministic: relaying a notice twice gives the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"haven:notice:{withdrawal_event_id}:{agency_id}"))


def write_notice(
    scope: BatchScope, logged: LoggedEvent, agency_id: str, cause: str, rows_erased: int
) -> None:
    """Tell the agency's systems to erase their own copies (GDPR Art. 17(2), 19)."""
    insert_notice(scope, logged, agency_id, erasure_notice(logged, agency_id, cause, rows_erased))


def erasure_notice(
    logged: LoggedEvent, agency_id: str, cause: str, rows_erased: int
) -> dict[str, object]:
    """The notice's payload (without ``notice_id``): ids and counts only."""
    return {
        "type": NOTICE_TYPE,
        "agency": agency_id,
        "subject": logged.subject,
        "cause": cause,
        "withdrawal_event_id": logged.event.id,
        "rows_erased": rows_erased,
        "time": logged.event.time.isoformat(),
    }


def insert_notice(
    scope: BatchScope, logged: LoggedEvent, agency_id: str, payload: dict[str, object]
) -> None:
    """Queue one notice about ``logged`` for the agency (ids and counts only)."""
    identifier = notice_id(logged.event.id, agency_id)
    payload = {"notice_id": identifier, **payload}
    scope.books.add(NOTICES, identifier, agency_id, logged.subject, payload)
    scope.counts["notices"] += 1
