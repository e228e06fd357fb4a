"""Sealing of personal fields: AES-256-GCM under a destroyable data key.

A sealed field is ``{"sealed": "v1", "kid": <key id>, "ct": <base64>}`` where
``ct`` is the 12-byte nonce followed by the ciphertext and tag of the JSON
value.  The associated data binds the ciphertext to its place: the event id
and the field path, so a sealed value cannot be moved to another event or
field.  Opening a field whose key is gone yields :data:`ERASED`, never an
exception: destroying a key is how Haven erases (crypto-shredding).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.canonical import compact_json

SEALED_VERSION: Final = "v1"
NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32
#: What a sealed field reads as once its key has been destroyed.
ERASED: Final[dict[str, Any]] = {"erased": True}

KeyLookup = Callable[[str], bytes | None]


class SealIntegrityError(ValueError):
    """A sealed field was tampered with, moved, or is malformed (its key exists)."""


class _NoncePool:
    """Random 96-bit nonces drawn from the OS in blocks (one syscall per 1,024).

    Each nonce is still 12 fresh random bytes used once; only the system call
    is amortised, which matters when sealing thousands of fields per second.
    """

    _BLOCK = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self) -> bytes:
        with self._lock:
            if self._offset >= len(self._buffer):
                self._buffer, self._offset = secrets.token_bytes(NONCE_BYTES * self._BLOCK), 0
            start = self._offset
            self._offset += NONCE_BYTES
            return self._buffer[start : start + NONCE_BYTES]

    def reset(self) -> None:
        """Drop unused nonces (a forked child must never reuse its parent's)."""
        self._lock = threading.Lock()
        self._buffer, self._offset = b"", 0


_NONCES = _NoncePool()
os.register_at_fork(after_in_child=_NONCES.reset)


def new_data_key() -> bytes:
    """A fresh random AES-256 key."""
    return secrets.token_bytes(KEY_BYTES)


def _aad(event_id: str, path: str) -> bytes:
    return f"haven-seal:{event_id}\x00{path}".encode()


def is_sealed(value: object) -> bool:
    """True when ``value`` has the sealed-field form."""
    return isinstance(value, dict) and value.get("sealed") == SEALED_VERSION and "ct" in value


def seal_value(
    key: bytes | AESGCM, kid: str, event_id: str, path: str, value: object
) -> dict[str, str]:
    """Encrypt one JSON value for the field ``path`` of event ``event_id`` under ``key``
    (or a cipher made of it: making one costs a third of sealing a short value, and
    a batch seals many fields under each subject's key)."""
    nonce = _NONCES.take()
    plaintext = compact_json(value)
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    ciphertext = cipher.encrypt(nonce, plaintext, _aad(event_id, path))
    return {
        "sealed": SEALED_VERSION,
        "kid": kid,
        "ct": base64.b64encode(nonce + ciphertext).decode("ascii"),
    }


def open_value(sealed: dict[str, Any], event_id: str, path: str, keys: KeyLookup) -> Any:
    """Decrypt a sealed field; :data:`ERASED` when its key no longer exists."""
    key = keys(str(sealed.get("kid", "")))
    if key is None:
        return ERASED
    try:
        blob = base64.b64decode(sealed["ct"], validate=True)
        plaintext = AESGCM(key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(event_id, path)
        )
    except (InvalidTag, binascii.Error, KeyError, ValueError) as exc:
        raise SealIntegrityError(
            f"sealed field {path} of event {event_id} does not verify"
        ) from exc
    return json.loads(plaintext)


def wrap_key(master_key: bytes, kid: str, data_key: bytes) -> bytes:
    """Encrypt a data key under the master key (nonce || ciphertext)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, f"haven-key:{kid}".encode())


def unwrap_key(master_key: bytes, kid: str, wrapped: bytes) -> bytes:
    """Decrypt a wrapped data key (raises InvalidTag with the wrong master key)."""
    return AESGCM(master_key).decrypt(
        wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], f"haven-key:{kid}".encode()
    )


def bind_to_event(sealed: dict[str, Any], event_id: str, path: str) -> dict[str, Any]:
    """A sealed field as read models store it: with the event id and path it is bound to."""
    return {**sealed, "event_id": event_id, "path": path}


def open_stored(stored: dict[str, Any], keys: KeyLookup) -> Any:
    """Open a sealed field stored by a read model (see :func:`bind_to_event`)."""
    return open_value(stored, str(stored["event_id"]), str(stored["path"]), keys)
