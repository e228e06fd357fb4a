"""A log event's data as read models store it: sealed fields bound once per event."""

from __future__ import annotations

from events.codec import parse_dict
from events.sealing import bind_to_event
from projectors.log import LoggedEvent

SEALED = {"sealed": "v1", "kid": "subj:s:0", "ct": "AAAA"}
ENVELOPE = {"specversion": "1.0", "id": "evt-9", "source": "urn:haven:agency:it_police"}
DATA = {"withdrawn_at": "2024-05-02T10:00:00Z", "scope": "all"}
EVENT = parse_dict(
    ENVELOPE
    | {
        "type": "haven.consent.withdrawn.v1",
        "subject": "7a1c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "agency": "it_police",
    }
    | {"jurisdiction": "IT"}
    | {"time": "2024-05-02T10:00:00Z", "data": DATA}
)


def test_sealed_fields_are_bound_to_the_event_once() -> None:
    corrected = bind_to_event(SEALED, "evt-rectified", "data.gender")
    logged = LoggedEvent(7, EVENT, {"name": SEALED, "gender": corrected, "level": "high"})
    bound = logged.bound_data
    assert bound == {
        "name": {**SEALED, "event_id": "evt-9", "path": "data.name"},
        "gender": corrected,  # already bound to the rectification that sealed it
        "level": "high",
    }
    assert logged.data["name"] == SEALED  # the event's own data is left as it was
    assert logged.bound_data is bound  # made once, shared by every recipient


def test_derived_values_are_kept_in_the_event_after_first_use() -> None:
    logged = LoggedEvent(7, EVENT, dict(DATA))
    assert "producer" not in vars(logged)
    assert logged.subject == str(EVENT.subject)
    assert logged.producer == "it_police"
    assert vars(logged)["producer"] == "it_police"  # read from the instance from now on
    assert LoggedEvent.subject.__doc__ is not None  # the class attribute is the descriptor
