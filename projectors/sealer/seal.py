"""Seal accepted events into log records: the one sealing step of the sealer and the gateway.

Each personal field is sealed under its subject's current key epoch (an
order's respondent under the order's key); a batch's keys are looked up, and
the missing ones created, in a few statements for the whole batch.  An
erasing withdrawal is sealed under the epoch it erases, then a new epoch
starts, so later events of the subject are not caught by that erasure.
Blocking (database): call from a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.envelope import Event
from events.types.consent import ConsentWithdrawn
from projectors.keys.keyring import Keyring
from projectors.outbox.sealed import SealedRecord
from projectors.sealer.transform import seal_event, sealed_order_id


def seal_records(keyring: Keyring, events: Sequence[Event[Any]]) -> list[SealedRecord]:
    """The sealed log record of each event, in order."""
    kids = keyring.current_subject_kids({str(e.subject) for e in events if e.subject})
    orders = keyring.ensure_order_kids(filter(None, map(sealed_order_id, events)))
    keyring.prefetch([*kids.values(), *orders.values()])

    def order_kid(order_id: str) -> str:
        return orders.get(order_id) or keyring.ensure_order_kid(order_id)

    # One cipher per key for the batch (made of the key, dropped with the batch).
    ciphers: dict[str, AESGCM] = {}

    def cipher(kid: str) -> AESGCM:
        made = ciphers.get(kid)
        if made is None:
            made = ciphers[kid] = AESGCM(keyring.require_key(kid))
        return made

    records = []
    for event in events:
        value = seal_event(event, kids.__getitem__, order_kid, cipher)
        if isinstance(event.data, ConsentWithdrawn) and event.data.erase_personal_data:
            kids[str(event.subject)] = keyring.start_new_epoch(str(event.subject))
        subject = str(event.subject).encode() if event.subject else None
        records.append(SealedRecord(event.source, event.id, subject, value))
    return records
