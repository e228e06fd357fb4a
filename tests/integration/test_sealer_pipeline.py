"""A batch prepared while the previous one commits (the sealer's pipeline), on real Postgres."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import Engine

from events.topics import dlq_topic, inbox_topic, log_topic
from infra.endpoints import Endpoints
from projectors.keys.keyring import Keyring
from projectors.outbox.sealed import EventRef
from projectors.sealer.batch import BatchSealer
from projectors.sealer.prepared import Prepared, Records
from projectors.sealer.store import PositionAdvance, SealerStore
from services.scenarios.builders import cloudevent, identification
from services.scenarios.synthetic import first_cases
from tests.integration.harness import SealerHarness

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def _event() -> dict[str, Any]:
    data = identification(first_cases(1)[0], random.Random(7), NOW)
    return cloudevent(
        agency="gr_ngo",
        jurisdiction="GR",
        event_type="haven.victim.identified.v1",
        subject=str(uuid.uuid4()),
        time=NOW,
        data=data,
    )


def _records(topic: str, first: int, *events: dict[str, Any]) -> Records:
    value = [json.dumps(e).encode() for e in events]
    return {
        TopicPartition(topic, 0): [
            ConsumerRecord(topic, 0, first + n, 0, 0, None, v, None, 0, len(v), ())
            for n, v in enumerate(value)
        ]
    }


def test_a_batch_prepared_on_a_committing_one_dedupes_and_advances_from_it(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> None:
    SealerHarness(infra.bootstrap_servers, topic_prefix, engine, master_key).register("gr_ngo")
    store, topic = SealerStore(engine), inbox_topic(topic_prefix, "gr_ngo")
    batch = BatchSealer(
        store,
        Keyring(engine, master_key),
        log_topic(topic_prefix),
        dlq_topic(topic_prefix),
        topic_prefix,
    )
    one, two = _event(), _event()

    def prepare(first: int, committing: set[EventRef] | None = None, *events: Any) -> Prepared:
        return asyncio.run(batch.prepare(_records(topic, first, *events), committing or set()))

    committing = prepare(0, None, one)
    # Prepared before ``committing`` committed: its record counts as sealed, its end as the start.
    following = prepare(1, committing.refs, one, two)
    assert [r.event_id for r in following.sealed] == [two["id"]]
    assert following.advances == [PositionAdvance(topic, 0, 1, 3)]
    assert store.commit_batch(committing.sealed, committing.advances) == 1
    assert store.commit_batch(following.sealed, following.advances) == 1
    assert store.positions([(topic, 0)]) == {(topic, 0): 3}
    # A batch prepared on top of one that was dropped advances from the committed positions.
    batch.forget_planned()
    assert prepare(3, None, _event()).advances == [PositionAdvance(topic, 0, None, 4)]
