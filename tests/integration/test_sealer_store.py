"""Sealer positions in Postgres: fenced, atomic with the (source, id) marks and the outbox."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from events.envelope import SYSTEM_SOURCE
from projectors.log import PositionMoved
from projectors.outbox.sealed import SealedRecord, forget_archived, requeue_unarchived
from projectors.outbox.sealed_store import OutboxStore
from projectors.sealer.store import PositionAdvance, SealerStore

pytestmark = pytest.mark.integration
TOPIC = "haven.inbox.gr_ngo.v1"


def _sealed(*ids: str) -> list[SealedRecord]:
    return [SealedRecord("s", i, b"subject", f"sealed {i}".encode()) for i in ids]


def test_positions_advance_only_from_where_they_were(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch(_sealed("e1"), [PositionAdvance(TOPIC, 0, None, 10)])
    assert store.positions([(TOPIC, 0), (TOPIC, 1)]) == {(TOPIC, 0): 10}
    store.commit_batch(_sealed("e2"), [PositionAdvance(TOPIC, 0, 10, 20)])
    assert store.positions([(TOPIC, 0)]) == {(TOPIC, 0): 20}


def test_a_zombie_batch_commits_nothing(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch([], [PositionAdvance(TOPIC, 0, None, 10)])
    store.commit_batch([], [PositionAdvance(TOPIC, 0, 10, 15)])  # the new owner moved on
    with pytest.raises(PositionMoved):
        store.commit_batch(
            _sealed("zombie"),
            [PositionAdvance(TOPIC, 1, None, 5), PositionAdvance(TOPIC, 0, 10, 12)],
        )
    assert store.positions([(TOPIC, 0), (TOPIC, 1)]) == {(TOPIC, 0): 15}
    assert store.already_sealed([("s", "zombie")]) == set()
    with pytest.raises(PositionMoved):
        store.commit_batch([], [PositionAdvance(TOPIC, 0, None, 3)])  # a second "first" owner


def test_sealed_marks_are_idempotent(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch(_sealed("e1", "e1"), [])
    store.commit_batch(_sealed("e1"), [])
    assert store.already_sealed([("s", "e1"), ("s", "e2")]) == {("s", "e1")}
    assert [p.value for p in OutboxStore(engine).pending(10)] == [b"sealed e1"]


def test_a_sealed_record_stays_durable_until_archived(engine: Engine) -> None:
    store, outbox = SealerStore(engine), OutboxStore(engine)
    assert store.commit_batch(_sealed("a", "b", "c"), []) == 3
    pending = outbox.pending(10)
    assert [p.value for p in pending] == [b"sealed a", b"sealed b", b"sealed c"]
    outbox.mark_relayed(p.seq for p in pending[:2])
    assert [p.value for p in outbox.pending(10)] == [b"sealed c"]
    with engine.begin() as conn:
        forget_archived(conn, [("s", "a")])
    assert requeue_unarchived(engine, 6) == 2  # b was relayed but never archived: again
    assert [p.value for p in outbox.pending(10)] == [b"sealed b", b"sealed c"]
    assert store.commit_batch(_sealed("a", "b"), []) == 0  # marks still dedupe


def test_the_relay_mark_rewrites_each_row_in_its_own_page(engine: Engine) -> None:
    """A mark that keeps the row's page lets Postgres log only the changed bytes (the
    outbox's fillfactor leaves the room): no sealed record is written to the WAL twice."""
    store, outbox = SealerStore(engine), OutboxStore(engine)
    records = [SealedRecord("s", f"e{i}", b"subject", bytes([i % 251]) * 1100) for i in range(600)]
    assert store.commit_batch(records, []) == 600
    pages = "SELECT seq, (ctid::text::point)[0] FROM haven_core.sealed_outbox"
    with engine.connect() as conn:
        before: dict[int, float] = dict(conn.execute(text(pages)).all())
        size = conn.execute(text("SELECT pg_relation_size('haven_core.sealed_outbox')")).scalar()
    outbox.mark_relayed(p.seq for p in outbox.pending(1000))
    assert outbox.pending(1000) == []
    with engine.connect() as conn:
        assert dict(conn.execute(text(pages)).all()) == before
        after = conn.execute(text("SELECT pg_relation_size('haven_core.sealed_outbox')")).scalar()
    assert after == size


def _system_event(
    engine: Engine, event_id: str, subject: str | None, partitions: list[int]
) -> None:
    """A relayed system event, archived (ledger entries) in ``partitions``."""
    payload = json.dumps({"id": event_id, "subject": subject}).encode()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.system_outbox (event_id, payload, relayed_at)"
                " VALUES (:i, :p, now())"
            ),
            {"i": event_id, "p": payload},
        )
        for offset, partition in enumerate(partitions):
            conn.execute(
                text(
                    "INSERT INTO haven_core.audit_ledger (topic, partition, log_offset, event_id,"
                    " source, event_type, producer, event_time, recipients, outcome,"
                    " record_sha256, prev_hash, entry_hash) VALUES (:i, :p, :o, :i, :s,"
                    " 'haven.system.agency_registered.v1', 'system', now(), '{}', 'applied',"
                    " '\\x00', '\\x00', '\\x00')"
                ),
                {"p": partition, "o": offset, "i": event_id, "s": SYSTEM_SOURCE},
            )


def test_system_events_the_archive_lacks_somewhere_are_relayed_again(engine: Engine) -> None:
    _system_event(engine, "everywhere", None, list(range(6)))
    _system_event(engine, "half", None, [0, 1, 2])
    _system_event(engine, "subject-kept", "s-1", [4])
    _system_event(engine, "subject-lost", "s-2", [])
    requeue_unarchived(engine, 6)
    with engine.connect() as conn:
        pending = conn.execute(
            text("SELECT event_id FROM haven_core.system_outbox WHERE relayed_at IS NULL")
        ).scalars()
        assert sorted(pending) == ["half", "subject-lost"]


def test_many_positions_advance_together_or_not_at_all(engine: Engine) -> None:
    store = SealerStore(engine)
    other = "haven.inbox.it_police.v1"
    store.commit_batch([], [PositionAdvance(TOPIC, p, None, 10) for p in range(3)])
    moves = [PositionAdvance(TOPIC, p, 10, 20 + p) for p in range(3)]
    store.commit_batch([], [*moves, PositionAdvance(other, 0, None, 4)])
    assert store.positions([(TOPIC, p) for p in range(3)] + [(other, 0)]) == {
        (TOPIC, 0): 20,
        (TOPIC, 1): 21,
        (TOPIC, 2): 22,
        (other, 0): 4,
    }
    with pytest.raises(PositionMoved):  # one of three moved under this worker
        store.commit_batch(
            _sealed("late"),
            [PositionAdvance(TOPIC, 0, 20, 30), PositionAdvance(TOPIC, 1, 11, 31)],
        )
    with pytest.raises(PositionMoved):  # one of two first positions exists already
        store.commit_batch(
            [], [PositionAdvance(other, 1, None, 2), PositionAdvance(other, 0, None, 9)]
        )
    assert store.positions([(TOPIC, 0), (TOPIC, 1), (other, 0), (other, 1)]) == {
        (TOPIC, 0): 20,
        (TOPIC, 1): 21,
        (other, 0): 4,
    }
    assert store.already_sealed([("s", "late")]) == set()


def test_the_relay_reads_back_only_values_it_does_not_hold(engine: Engine) -> None:
    store, outbox = SealerStore(engine), OutboxStore(engine)
    fresh: list[SealedRecord] = []
    assert store.commit_batch(_sealed("a", "b", "c"), [], fresh=fresh) == 3
    assert [r.event_id for r in fresh] == ["a", "b", "c"]
    held = {("s", "b"): (b"subject", b"held b")}  # not what the table holds: proves no read
    pending = outbox.pending(10, held)
    assert [(p.ref, p.value) for p in pending] == [
        (("s", "a"), b"sealed a"),
        (("s", "b"), b"held b"),
        (("s", "c"), b"sealed c"),
    ]
    assert [p.seq for p in pending] == sorted(p.seq for p in pending)
