"""The demo's count of the survivor's sealed fields: each event once, as the engine applies it."""

from __future__ import annotations

import json

from events.sealing import new_data_key, seal_value
from projectors.log import LogRecord
from services.demo.records import erased_fields, subject_records

SUBJECT = "subject-1"
LIVE = new_data_key()


def _record(offset: int, event_id: str, kid: str, key: bytes) -> LogRecord:
    event = {
        "id": event_id,
        "source": "urn:haven:agency:gr_ngo",
        "type": "haven.risk.assessed.v1",
        "subject": SUBJECT,
        "data": {"notes": seal_value(key, kid, event_id, "data.notes", "notes")},
    }
    return LogRecord(offset, json.dumps(event).encode())


def test_an_event_the_relay_delivered_twice_counts_once() -> None:
    # The relay delivers at least once: the first assessment, sealed under the
    # destroyed epoch 0, is in the log again after the later one (epoch 1).
    first = _record(0, "e1", f"subj:{SUBJECT}:0", new_data_key())
    later = _record(1, "e2", f"subj:{SUBJECT}:1", LIVE)
    log = {0: [first, later, LogRecord(2, first.value)]}
    keys = {f"subj:{SUBJECT}:1": LIVE}.get

    assert erased_fields(log, SUBJECT, keys) == (1, 1)
    assert [where for where, _r, _e in subject_records(log, SUBJECT, once=True)] == ["0/0", "0/1"]
    # The log as it holds them: both copies.
    assert [where for where, _r, _e in subject_records(log, SUBJECT)] == ["0/0", "0/1", "0/2"]
