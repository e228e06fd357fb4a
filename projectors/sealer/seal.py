"""Seal accepted events into log records: the one sealing step of the sealer and the gateway.

Each personal field is sealed under its subject's current key epoch (an
order's respondent under the order's key).  An erasing withdrawal is sealed
under the epoch it erases, then a new epoch starts, so later events of the
subject are not caught by that erasure.  Blocking (database): call from a
thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events.envelope import Event
from projectors.keys.keyring import Keyring
from projectors.outbox.sealed import SealedRecord
from projectors.sealer.transform import seal_event


def seal_records(keyring: Keyring, events: Sequence[Event[Any]]) -> list[SealedRecord]:
    """The sealed log record of each event, in order."""
    kids = keyring.current_subject_kids({str(e.subject) for e in events if e.subject})
    keyring.prefetch(kids.values())

    records = []
    for event in events:
        value = seal_event(event, kids.__getitem__, keyring.ensure_order_kid, keyring.require_key)
        if getattr(event.data, "erase_personal_data", False):
            kids[str(event.subject)] = keyring.start_new_epoch(str(event.subject))
        subject = str(event.subject).encode() if event.subject else None
        records.append(SealedRecord(event.source, event.id, subject, value))
    return records
