"""The ledger's canonical bytes stay those of the standard library's JSON encoder.

Every ledger entry is hashed over ``LedgerEntry.canonical()``; entries hashed
before the switch to orjson must still verify, so for any text (every code
point but the unpaired surrogates, which the contract refuses at the door),
integer, null and list of texts the two encoders must write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.canonical import compact_json
from projectors.audit.ledger import LedgerEntry

TEXT = st.text(st.characters(blacklist_categories=["Cs"]))
FIELD = st.one_of(
    TEXT,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.none(),
    st.lists(TEXT, max_size=4),
)


def _stdlib(fields: list[Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=2000)
@given(st.lists(FIELD, max_size=16))
def test_canonical_bytes_are_the_standard_librarys(fields: list[Any]) -> None:
    assert compact_json(fields) == _stdlib(fields)


@given(subject=TEXT, event_id=TEXT, recipients=st.lists(TEXT, max_size=3))
def test_an_entrys_canonical_form_is_the_standard_librarys(
    subject: str, event_id: str, recipients: list[str]
) -> None:
    entry = LedgerEntry(
        "haven.log.v1",
        2,
        41,
        event_id,
        "urn:haven:agency:gr_ngo",
        "haven.risk.assessed.v1",
        "gr_ngo",
        subject,
        "GR",
        datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC),
        tuple(recipients),
        "applied",
        hashlib.sha256(b"record").digest(),
    )
    fields = json.loads(entry.canonical())
    assert entry.canonical() == _stdlib(fields)
    assert fields[8] == subject
    assert fields[11] == sorted(recipients)


def test_an_unpaired_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        compact_json(["a", chr(0xD800)])
