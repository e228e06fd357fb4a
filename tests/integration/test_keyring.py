"""Keyring on real Postgres: epochs, order keys, destruction is final."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import Engine, text

from events.sealing import ERASED, open_value, seal_value
from projectors.keys.keyring import Keyring

pytestmark = pytest.mark.integration
SUBJECT = "6f1c2a52-7c61-4c2e-9d0a-3f1b2b6b9a01"


def test_subject_epochs_and_destruction(engine: Engine, master_key: bytes) -> None:
    keyring = Keyring(engine, master_key, cache_ttl_s=0)
    kid0 = keyring.current_subject_kids([SUBJECT])[SUBJECT]
    old = seal_value(keyring.key(kid0) or b"", kid0, "e1", "data.personal", {"full_name": "A B"})
    kid1 = keyring.start_new_epoch(SUBJECT)
    assert (kid0, kid1) == (f"subj:{SUBJECT}:0", f"subj:{SUBJECT}:1")
    assert keyring.current_subject_kids([SUBJECT])[SUBJECT] == kid1
    new = seal_value(keyring.key(kid1) or b"", kid1, "e2", "data.personal", "later")

    assert keyring.destroy(keyring.subject_kids_up_to(SUBJECT, 0)) == [kid0]
    assert open_value(old, "e1", "data.personal", keyring.key) == ERASED
    assert open_value(new, "e2", "data.personal", keyring.key) == "later"
    assert keyring.destroy([kid0]) == []


def test_wrapped_keys_never_hold_the_plain_key(engine: Engine, master_key: bytes) -> None:
    keyring = Keyring(engine, master_key)
    kid = keyring.current_subject_kids([SUBJECT])[SUBJECT]
    key = keyring.key(kid)
    assert key is not None
    with engine.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM haven_core.keys WHERE kid=:k"), {"k": kid})
        assert key not in bytes(wrapped.scalar_one())


def test_another_process_sees_the_same_keys(engine: Engine, master_key: bytes) -> None:
    first, second = Keyring(engine, master_key), Keyring(engine, master_key)
    assert first.current_subject_kids([SUBJECT]) == second.current_subject_kids([SUBJECT])
    order = first.ensure_order_kid("order-1")
    assert second.ensure_order_kid("order-1") == order
    assert first.key(order) == second.key(order)
    dlq = first.ensure_dlq_kid(date(2026, 11, 22))
    assert dlq == "dlq:2026-11-22"
    assert second.key(dlq) == first.key(dlq)


def test_destroyed_current_epoch_is_never_reused(engine: Engine, master_key: bytes) -> None:
    keyring = Keyring(engine, master_key, cache_ttl_s=0)
    kid0 = keyring.current_subject_kids([SUBJECT])[SUBJECT]
    keyring.destroy([kid0])
    # Nothing may be sealed under a destroyed key: a new epoch starts instead,
    # and the destroyed id never gets a key again.
    assert keyring.current_subject_kids([SUBJECT])[SUBJECT] == f"subj:{SUBJECT}:1"
    assert keyring.key(kid0) is None


def test_dlq_keys_older_than_retention_are_destroyed(engine: Engine, master_key: bytes) -> None:
    keyring = Keyring(engine, master_key, cache_ttl_s=0)
    old, recent = date(2026, 11, 10), date(2026, 11, 20)
    old_kid, recent_kid = keyring.ensure_dlq_kid(old), keyring.ensure_dlq_kid(recent)
    sealed = seal_value(keyring.key(old_kid) or b"", old_kid, "dlq:t:0:1", "original", "raw")
    assert keyring.destroy_expired_dlq_keys(date(2026, 11, 22), retention_days=7) == [old_kid]
    assert open_value(sealed, "dlq:t:0:1", "original", keyring.key) == ERASED
    assert keyring.key(recent_kid) is not None
    assert keyring.destroy_expired_dlq_keys(date(2026, 11, 22), retention_days=7) == []


def test_order_keys_of_a_batch_are_created_once_and_shared(
    engine: Engine, master_key: bytes
) -> None:
    first, second = Keyring(engine, master_key, cache_ttl_s=0), Keyring(engine, master_key)
    existing = first.ensure_order_kid("order-a")
    kids = second.ensure_order_kids(["order-a", "order-b", "order-b", "order-c"])
    assert kids == {"order-a": existing, "order-b": "order:order-b", "order-c": "order:order-c"}
    assert first.ensure_order_kids(["order-b", "order-c"]) == {
        "order-b": "order:order-b",
        "order-c": "order:order-c",
    }
    assert first.ensure_order_kids([]) == {}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kid, scope, owner FROM haven_core.keys WHERE scope = 'order' ORDER BY kid")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("order:order-a", "order", "order-a"),
        ("order:order-b", "order", "order-b"),
        ("order:order-c", "order", "order-c"),
    ]
    for kid in kids.values():
        assert first.key(kid) is not None
        assert first.key(kid) == second.key(kid)


def test_the_cache_keeps_recent_keys_only(engine: Engine, master_key: bytes) -> None:
    """Entries older than the TTL are never used again: they go, so the cache does not
    grow with every subject a long-running worker has seen."""
    keyring = Keyring(engine, master_key, cache_ttl_s=2.0)
    earlier = keyring.current_subject_kids([f"subj-{n}" for n in range(50)])
    assert keyring.cached() == 50
    keyring.prefetch(earlier.values())  # fresh entries: nothing to load, nothing pruned
    assert keyring.cached() == 50
    time.sleep(2.1)
    later = keyring.current_subject_kids(["subj-later"])
    assert keyring.cached() == 1
    assert keyring.key(later["subj-later"]) is not None
    assert all(keyring.key(kid) is not None for kid in earlier.values())  # read again
