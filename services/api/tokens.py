"""A short-lived, per-process cache of token -> caller, so a read skips the token lookup.

Keyed by the token's SHA-256 (the clear token is never kept).  An entry lives
``ttl_s`` seconds and never past the token's own expiry, so a revoked or
rotated-out token is refused at most ``ttl_s`` seconds late; an expiring
token is refused on time.  Unknown tokens are not cached (every miss asks
the database).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from services.api.auth import Caller

_MAX_ENTRIES = 10_000


class TokenCache:
    """Token hash -> (caller, valid until on the monotonic clock); thread-safe."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[bytes, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: bytes) -> Caller | None:
        """The cached caller, or None when absent or stale."""
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del self._entries[token_hash]
                return None
            return entry[0]

    def put(self, token_hash: bytes, caller: Caller, expires_at: datetime | None) -> None:
        """Remember ``caller`` for ``ttl_s`` seconds, never past ``expires_at``."""
        if self.ttl_s <= 0:
            return
        until = time.monotonic() + self.ttl_s
        if expires_at is not None:
            until = min(until, time.monotonic() + (expires_at.timestamp() - time.time()))
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (caller, until)

    def clear(self) -> None:
        """Forget every entry (the next call of each token asks the database)."""
        with self._lock:
            self._entries.clear()
