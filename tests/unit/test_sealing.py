"""Sealing: AES-256-GCM with associated data, crypto-shredding to ERASED."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from events.sealing import (
    ERASED,
    SealIntegrityError,
    is_sealed,
    new_data_key,
    open_value,
    seal_value,
    unwrap_key,
    wrap_key,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(value=json_values)
def test_sealed_value_opens_to_the_original(value: object) -> None:
    key = new_data_key()
    sealed = seal_value(key, "subj:s:0", "event-1", "personal", value)
    assert is_sealed(sealed)
    assert open_value(sealed, "event-1", "personal", {"subj:s:0": key}.get) == value


def test_a_cipher_made_of_the_key_seals_as_the_key_does() -> None:
    key, other = new_data_key(), new_data_key()
    sealed = seal_value(AESGCM(key), "subj:s:0", "event-1", "personal", {"name": "A"})
    assert open_value(sealed, "event-1", "personal", {"subj:s:0": key}.get) == {"name": "A"}
    with pytest.raises(SealIntegrityError):
        open_value(sealed, "event-1", "personal", {"subj:s:0": other}.get)


def test_ciphertext_hides_the_plaintext() -> None:
    sealed = seal_value(new_data_key(), "k", "e", "personal", {"full_name": "Alina Kovalenko"})
    assert "Alina" not in json.dumps(sealed)


def test_missing_key_reads_as_erased_marker() -> None:
    sealed = seal_value(new_data_key(), "k", "e", "personal", "secret")
    assert open_value(sealed, "e", "personal", lambda _kid: None) == ERASED


@pytest.mark.parametrize(("event_id", "path"), [("other-event", "personal"), ("e", "notes")])
def test_sealed_value_cannot_move_to_another_event_or_field(event_id: str, path: str) -> None:
    key = new_data_key()
    sealed = seal_value(key, "k", "e", "personal", "secret")
    with pytest.raises(SealIntegrityError) as caught:
        open_value(sealed, event_id, path, lambda _kid: key)
    assert "secret" not in str(caught.value)


def test_tampered_ciphertext_is_detected() -> None:
    key = new_data_key()
    sealed = seal_value(key, "k", "e", "personal", "secret")
    flipped = sealed["ct"][:-4] + ("AAAA" if sealed["ct"][-4:] != "AAAA" else "BBBB")
    with pytest.raises(SealIntegrityError):
        open_value({**sealed, "ct": flipped}, "e", "personal", lambda _kid: key)


def test_wrapped_key_unwraps_only_with_its_master_and_kid() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, "subj:s:0", data_key)
    assert unwrap_key(master, "subj:s:0", wrapped) == data_key
    with pytest.raises(InvalidTag):
        unwrap_key(master, "subj:s:1", wrapped)
    with pytest.raises(InvalidTag):
        unwrap_key(new_data_key(), "subj:s:0", wrapped)


def test_nonces_never_repeat_across_pool_refills() -> None:
    key = new_data_key()
    nonces = {
        base64.b64decode(seal_value(key, "k", f"e{i}", "p", i)["ct"])[:12] for i in range(3000)
    }
    assert len(nonces) == 3000


def test_a_forked_child_draws_fresh_nonces() -> None:
    import os

    key = new_data_key()
    seal_value(key, "k", "warm", "p", 0)  # the parent now holds a partly used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        child = base64.b64decode(seal_value(key, "k", "e", "p", 1)["ct"])[:12]
        os.write(write, child)
        os._exit(0)
    os.waitpid(pid, 0)
    child_nonce = os.read(read, 12)
    parent_nonce = base64.b64decode(seal_value(key, "k", "e", "p", 1)["ct"])[:12]
    assert child_nonce != parent_nonce
