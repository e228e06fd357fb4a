"""Data keys in ``haven_core.keys``, wrapped by the master key.

Three kinds of key:
- subject keys, in epochs: ``subj:<subject>:<epoch>``.  A new epoch starts
  right after an erasing withdrawal is sealed, so only data sealed before it
  is caught by the erasure;
- protective-order keys for the respondent: ``order:<order_id>``; they
  survive a subject's erasure (legal obligation);
- DLQ keys, one per UTC day: ``dlq:<yyyy-mm-dd>``, destroyed after the DLQ
  retention.

Destroying a key nulls its wrapped bytes for good.  Keys are created and
committed before anything is sealed with them, so no sealed byte ever exists
without its key having been stored first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import Engine, text

from events.sealing import new_data_key, unwrap_key, wrap_key
from projectors.keys.queries import expired_dlq_kids, live_subject_kids


def subject_kid(subject: str, epoch: int) -> str:
    """Key id of a subject's epoch."""
    return f"subj:{subject}:{epoch}"


def subject_epoch(kid: str, subject: str) -> int | None:
    """The epoch named by ``kid`` if it is one of ``subject``'s key ids, else None."""
    prefix = subject_kid(subject, 0)[:-1]
    tail = kid[len(prefix) :] if kid.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else None


def order_kid(order_id: str) -> str:
    """Key id of a protective order's respondent key."""
    return f"order:{order_id}"


def dlq_kid(day: date) -> str:
    """Key id of the DLQ key of one UTC day."""
    return f"dlq:{day.isoformat()}"


_INSERT = text(
    "INSERT INTO haven_core.keys (kid, scope, owner, epoch, wrapped)"
    " VALUES (:kid, :scope, :owner, :epoch, :wrapped) ON CONFLICT DO NOTHING RETURNING kid"
)
#: Batch arrays go in binary form (``%(x)b``): psycopg writes a list's text form element
#: by element in Python, several times slower (docs/engine.md "What is worked out once").
_CURRENT_EPOCHS = (
    "SELECT DISTINCT ON (owner) owner, epoch, wrapped IS NULL FROM haven_core.keys"
    " WHERE scope = 'subject' AND owner = ANY(%(owners)b) ORDER BY owner, epoch DESC"
)
_EXISTING = "SELECT kid FROM haven_core.keys WHERE kid = ANY(%(k)b)"
#: The wrapped keys of the kids ``k`` (the keyring's and the API's fetch of missing keys).
WRAPPED_KEYS = "SELECT kid, wrapped FROM haven_core.keys WHERE kid = ANY(%(k)b)"
_INSERT_MANY = (
    "INSERT INTO haven_core.keys (kid, scope, owner, epoch, wrapped)"
    " SELECT k, %(scope)s, o, e, w FROM unnest(%(kids)b::text[], %(owners)b::text[],"
    " %(epochs)b::int[], %(wrapped)b::bytea[]) AS t(k, o, e, w) ON CONFLICT DO NOTHING"
    " RETURNING kid"
)


class Keyring:
    """Creates, looks up and destroys data keys.  Thread-safe; blocking (use a thread)."""

    def __init__(self, engine: Engine, master_key: bytes, *, cache_ttl_s: float = 2.0) -> None:
        self._engine = engine
        self._master = master_key
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, bytes | None]] = {}
        self._pruned = time.monotonic()
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        """Drop the entries too old to be used again (lock held), at most once per TTL,
        so the cache holds the keys of the last seconds, not of every subject seen."""
        if now - self._pruned >= self._ttl:
            self._pruned = now
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self._ttl}

    def cached(self) -> int:
        """How many keys the cache holds (fresh or not yet pruned)."""
        with self._lock:
            return len(self._cache)

    def _store(self, kid: str, scope: str, owner: str, epoch: int) -> None:
        """Insert a new key; if another worker won the race, its key is the one."""
        data_key = new_data_key()
        wrapped = wrap_key(self._master, kid, data_key)
        with self._engine.begin() as conn:
            inserted = conn.execute(
                _INSERT,
                {"kid": kid, "scope": scope, "owner": owner, "epoch": epoch, "wrapped": wrapped},
            ).first()
        with self._lock:
            if inserted:
                self._cache[kid] = (time.monotonic(), data_key)
            else:
                self._cache.pop(kid, None)

    def current_subject_kids(self, subjects: Iterable[str]) -> dict[str, str]:
        """The current epoch's key id of each subject.

        Epoch 0 is created for a new subject; a new epoch is started when the
        newest one was destroyed, so nothing is ever sealed under a dead key.
        """
        owners = sorted(set(subjects))
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(_CURRENT_EPOCHS, {"owners": owners}).all()
        newest = {owner: (epoch, destroyed) for owner, epoch, destroyed in rows}
        current: dict[str, str] = {}
        fresh: list[tuple[str, str, int]] = []
        for subject in owners:
            epoch, destroyed = newest.get(subject, (-1, True))
            if destroyed:
                epoch += 1
                fresh.append((subject_kid(subject, epoch), subject, epoch))
            current[subject] = subject_kid(subject, epoch)
        self._store_many(fresh)
        return current

    def ensure_order_kids(self, order_ids: Iterable[str]) -> dict[str, str]:
        """The respondent key id of each order, those missing created: two statements."""
        wanted = {order_id: order_kid(order_id) for order_id in sorted(set(order_ids))}
        if not wanted:
            return {}
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(_EXISTING, {"k": list(wanted.values())})
            existing = {row[0] for row in rows}
        missing = [(kid, owner, 0) for owner, kid in wanted.items() if kid not in existing]
        self._store_many(missing, scope="order")
        return wanted

    def _store_many(self, fresh: list[tuple[str, str, int]], scope: str = "subject") -> None:
        """Insert many new keys of ``scope`` in one statement (kid, owner, epoch)."""
        if not fresh:
            return
        keys = {kid: new_data_key() for kid, _, _ in fresh}
        with self._engine.begin() as conn:
            inserted = conn.exec_driver_sql(
                _INSERT_MANY,
                {
                    "scope": scope,
                    "kids": [kid for kid, _, _ in fresh],
                    "owners": [owner for _, owner, _ in fresh],
                    "epochs": [epoch for _, _, epoch in fresh],
                    "wrapped": [wrap_key(self._master, kid, keys[kid]) for kid, _, _ in fresh],
                },
            )
            won = {row[0] for row in inserted}
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            for kid, key in keys.items():
                if kid in won:
                    self._cache[kid] = (now, key)
                else:  # another worker created it first: read theirs
                    self._cache.pop(kid, None)

    def stale(self, kids: Iterable[str]) -> list[str]:
        """Those of ``kids`` the cache does not hold (or holds for too long)."""
        now = time.monotonic()
        with self._lock:
            return [k for k in set(kids) if now - self._cache.get(k, (-1e9, None))[0] >= self._ttl]

    def remember(self, wanted: Iterable[str], found: Mapping[str, bytes | None]) -> None:
        """Cache ``wanted`` keys from their stored (wrapped) form; absent ones as unknown."""
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            for kid in wanted:
                wrapped = found.get(kid)
                key = unwrap_key(self._master, kid, bytes(wrapped)) if wrapped else None
                self._cache[kid] = (now, key)

    def prefetch(self, kids: Iterable[str]) -> None:
        """Load many keys in one query into the cache (sealing a batch)."""
        wanted = self.stale(kids)
        if not wanted:
            return
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(WRAPPED_KEYS, {"k": wanted}).all()
        self.remember(wanted, {kid: wrapped for kid, wrapped in rows})  # noqa: C416

    def start_new_epoch(self, subject: str) -> str:
        """Begin a new key epoch for ``subject`` and return its key id."""
        current = self.current_subject_kids([subject])[subject]
        epoch = int(current.rsplit(":", 1)[1]) + 1
        self._store(subject_kid(subject, epoch), "subject", subject, epoch)
        return subject_kid(subject, epoch)

    def ensure_order_kid(self, order_id: str) -> str:
        """The respondent key id of an order, created on first use."""
        kid = order_kid(order_id)
        if not self._exists(kid):
            self._store(kid, "order", order_id, 0)
        return kid

    def ensure_dlq_kid(self, day: date) -> str:
        """The DLQ key id for ``day``, created on first use."""
        kid = dlq_kid(day)
        if not self._exists(kid):
            self._store(kid, "dlq", day.isoformat(), 0)
        return kid

    def _exists(self, kid: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM haven_core.keys WHERE kid = :k"), {"k": kid})
            return found.first() is not None

    def key(self, kid: str) -> bytes | None:
        """The data key for ``kid``, or None when unknown or destroyed."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(kid)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with self._engine.connect() as conn:
            row = conn.execute(
                text("SELECT wrapped FROM haven_core.keys WHERE kid = :k"), {"k": kid}
            ).first()
        key = unwrap_key(self._master, kid, bytes(row[0])) if row and row[0] is not None else None
        with self._lock:
            self._prune(now)
            self._cache[kid] = (now, key)
        return key

    def require_key(self, kid: str) -> bytes:
        """The data key of ``kid``; raises if it is missing or destroyed (sealing must stop)."""
        key = self.key(kid)
        if key is None:
            raise RuntimeError(f"key {kid} missing while sealing")
        return key

    def forget(self, kids: Iterable[str]) -> None:
        """Drop cached keys (another transaction destroyed them)."""
        for kid in kids:
            self._forget(kid)

    def _forget(self, kid: str) -> None:
        with self._lock:
            self._cache.pop(kid, None)

    def destroy(self, kids: Iterable[str]) -> list[str]:
        """Destroy keys for good; returns the ids that were destroyed now."""
        wanted = sorted(set(kids))
        with self._engine.begin() as conn:
            rows = conn.execute(
                text(
                    "UPDATE haven_core.keys SET wrapped = NULL, destroyed_at = now()"
                    " WHERE kid = ANY(:kids) AND wrapped IS NOT NULL RETURNING kid"
                ),
                {"kids": wanted},
            )
            destroyed = [row[0] for row in rows]
        for kid in wanted:
            self._forget(kid)
        return destroyed

    def destroy_expired_dlq_keys(self, today: date, retention_days: int) -> list[str]:
        """Destroy DLQ keys of days older than the retention: their records become unreadable."""
        return self.destroy(expired_dlq_kids(self._engine, today, retention_days))

    def subject_kids_up_to(self, subject: str, epoch: int) -> list[str]:
        """Key ids of a subject's epochs ``0..epoch`` that still exist."""
        return live_subject_kids(self._engine, subject, epoch)
