"""One batch of inbox records through the sealer: classify, dedupe, seal, produce, commit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from events.envelope import Event
from events.topics import inbox_agency
from projectors.keys.keyring import Keyring
from projectors.runtime.batch_send import send_in_batches
from projectors.sealer.dlq import InboxRecord, dlq_payload, safe_subject_key
from projectors.sealer.store import EventRef, PositionAdvance, SealerStore
from projectors.sealer.transform import Accepted, Rejected, classify, seal_event


@dataclass(frozen=True)
class Outgoing:
    """A record to produce."""

    topic: str
    key: bytes | None
    value: bytes


class _Clock:
    """Lap timer for a batch's phases (logged with the batch)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self._last) * 1e3, 1)
        self._last = now


class SealerStats:
    """Running counts, for logs and metrics."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def snapshot(self) -> dict[str, int]:
        """Counts so far: sealed, duplicate, and rejected by reason."""
        return dict(self.counts)


def _ref(event: Event) -> EventRef:
    return (event.source, event.id)


class BatchSealer:
    """Processes batches; keeps the positions this worker believes it owns."""

    def __init__(
        self,
        store: SealerStore,
        keyring: Keyring,
        log: str,
        dlq: str,
        prefix: str,
    ) -> None:
        self._store, self._keyring = store, keyring
        self._log, self._dlq, self._prefix = log, dlq, prefix
        self.positions: dict[tuple[str, int], int | None] = {}
        self.stats = SealerStats()
        self._rejections: Counter[str] = Counter()
        self._agencies: frozenset[str] = frozenset()
        self._fresh: list[EventRef] = []
        self.last_timings: dict[str, float] = {}

    async def process(
        self, records: dict[TopicPartition, list[ConsumerRecord]], producer: AIOKafkaProducer
    ) -> None:
        """Seal a batch; raises (nothing committed) on broker or database failure."""
        clock = _Clock()
        self._rejections = Counter()
        await self._refresh_agencies(records)
        ordered = [rec for recs in records.values() for rec in recs]
        outgoing = await asyncio.to_thread(self._prepare, ordered)
        clock.lap("prepare_ms")
        # Sent in input order, so each subject's log order follows its inbox order.
        futures = await send_in_batches(producer, [out for out in outgoing if out is not None])
        clock.lap("send_ms")
        await asyncio.gather(*futures)
        clock.lap("ack_ms")
        advances = self._advances(records)
        await asyncio.to_thread(self._store.commit_batch, self._fresh, advances, self._rejections)
        clock.lap("commit_ms")
        self.last_timings = clock.laps
        for advance in advances:
            self.positions[(advance.topic, advance.partition)] = advance.next_offset

    async def _refresh_agencies(self, records: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        topic_agencies = {inbox_agency(self._prefix, tp.topic) or "" for tp in records}
        if not topic_agencies <= self._agencies:
            self._agencies = await asyncio.to_thread(self._store.registered_agencies)

    def _prepare(self, records: list[ConsumerRecord]) -> list[Outgoing | None]:
        """Classify, dedupe and seal (blocking: runs in a thread)."""
        outcomes = [
            (
                rec,
                classify(
                    rec.value or b"", inbox_agency(self._prefix, rec.topic) or "", self._agencies
                ),
            )
            for rec in records
        ]
        accepted = [o.event for _, o in outcomes if isinstance(o, Accepted)]
        seen = self._store.already_sealed(map(_ref, accepted))
        kids = self._keyring.current_subject_kids({str(e.subject) for e in accepted if e.subject})
        self._keyring.prefetch(kids.values())
        self._fresh = []
        return [self._route(rec, outcome, seen, kids) for rec, outcome in outcomes]

    def _route(
        self,
        record: ConsumerRecord,
        outcome: Accepted | Rejected,
        seen: set[EventRef],
        kids: dict[str, str],
    ) -> Outgoing | None:
        if isinstance(outcome, Rejected):
            return self._dead_letter(record, outcome)
        event = outcome.event
        if _ref(event) in seen:
            self.stats.counts["duplicate"] += 1
            return None
        seen.add(_ref(event))
        self._fresh.append(_ref(event))
        self.stats.counts["sealed"] += 1
        key = str(event.subject).encode() if event.subject else None
        return Outgoing(self._log, key, self._seal(event, kids))

    def _key(self, kid: str) -> bytes:
        key = self._keyring.key(kid)
        if key is None:
            raise RuntimeError(f"key {kid} missing while sealing")
        return key

    def _seal(self, event: Event, kids: dict[str, str]) -> bytes:
        sealed = seal_event(event, kids.__getitem__, self._keyring.ensure_order_kid, self._key)
        if getattr(event.data, "erase_personal_data", False):
            # Later events of this subject must not be caught by this erasure.
            kids[str(event.subject)] = self._keyring.start_new_epoch(str(event.subject))
        return sealed

    def _dead_letter(self, record: ConsumerRecord, outcome: Rejected) -> Outgoing:
        now = datetime.now(UTC)
        kid = self._keyring.ensure_dlq_kid(now.date())
        inbox = InboxRecord(
            record.topic, record.partition, record.offset, record.key, record.value or b""
        )
        self.stats.counts[f"rejected_{outcome.error.reason}"] += 1
        self._rejections[outcome.error.reason.value] += 1
        value = dlq_payload(inbox, outcome.error, key=self._key(kid), kid=kid, received_at=now)
        return Outgoing(self._dlq, safe_subject_key(record.key), value)

    def _advances(
        self, records: dict[TopicPartition, list[ConsumerRecord]]
    ) -> list[PositionAdvance]:
        return [
            PositionAdvance(
                tp.topic,
                tp.partition,
                self.positions.get((tp.topic, tp.partition)),
                recs[-1].offset + 1,
            )
            for tp, recs in records.items()
            if recs
        ]
