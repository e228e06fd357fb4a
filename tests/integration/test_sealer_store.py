"""Sealer positions in Postgres: fenced, atomic with the (source, id) marks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from projectors.log import PositionMoved
from projectors.sealer.store import PositionAdvance, SealerStore

pytestmark = pytest.mark.integration
TOPIC = "haven.inbox.gr_ngo.v1"


def test_positions_advance_only_from_where_they_were(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch([("s", "e1")], [PositionAdvance(TOPIC, 0, None, 10)])
    assert store.positions([(TOPIC, 0), (TOPIC, 1)]) == {(TOPIC, 0): 10}
    store.commit_batch([("s", "e2")], [PositionAdvance(TOPIC, 0, 10, 20)])
    assert store.positions([(TOPIC, 0)]) == {(TOPIC, 0): 20}


def test_a_zombie_batch_commits_nothing(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch([], [PositionAdvance(TOPIC, 0, None, 10)])
    store.commit_batch([], [PositionAdvance(TOPIC, 0, 10, 15)])  # the new owner moved on
    with pytest.raises(PositionMoved):
        store.commit_batch(
            [("s", "zombie")],
            [PositionAdvance(TOPIC, 1, None, 5), PositionAdvance(TOPIC, 0, 10, 12)],
        )
    assert store.positions([(TOPIC, 0), (TOPIC, 1)]) == {(TOPIC, 0): 15}
    assert store.already_sealed([("s", "zombie")]) == set()
    with pytest.raises(PositionMoved):
        store.commit_batch([], [PositionAdvance(TOPIC, 0, None, 3)])  # a second "first" owner


def test_sealed_marks_are_idempotent(engine: Engine) -> None:
    store = SealerStore(engine)
    store.commit_batch([("s", "e1"), ("s", "e1")], [])
    store.commit_batch([("s", "e1")], [])
    assert store.already_sealed([("s", "e1"), ("s", "e2")]) == {("s", "e1")}
