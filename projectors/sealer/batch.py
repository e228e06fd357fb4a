"""One batch of inbox records through the sealer: classify, dedupe, seal, commit to the outbox."""

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
from projectors.outbox.sealed import EventRef, SealedRecord
from projectors.runtime.batch_send import send_in_batches
from projectors.sealer.dlq import InboxRecord, dlq_payload, safe_subject_key
from projectors.sealer.seal import seal_records
from projectors.sealer.store import PositionAdvance, SealerStore
from projectors.sealer.transform import Accepted, Rejected, classify


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
        self._sealed: list[SealedRecord] = []
        self.last_timings: dict[str, float] = {}

    async def process(
        self, records: dict[TopicPartition, list[ConsumerRecord]], producer: AIOKafkaProducer
    ) -> int:
        """Seal a batch into the outbox; raises (nothing committed) on broker or database failure.

        Dead letters are produced (and acknowledged) first; then sealed records,
        their marks, rejection counts and positions commit in one transaction.
        Returns how many records were sealed.
        """
        clock = _Clock()
        self._rejections = Counter()
        await self._refresh_agencies(records)
        ordered = [rec for recs in records.values() for rec in recs]
        dead = await asyncio.to_thread(self._prepare, ordered)
        clock.lap("prepare_ms")
        await asyncio.gather(*await send_in_batches(producer, dead))
        clock.lap("dlq_ms")
        advances = self._advances(records)
        staged = await asyncio.to_thread(
            self._store.commit_batch, self._sealed, advances, self._rejections
        )
        clock.lap("commit_ms")
        self.stats.counts["sealed"] += staged
        self.stats.counts["duplicate"] += len(self._sealed) - staged
        self.last_timings = clock.laps
        for advance in advances:
            self.positions[(advance.topic, advance.partition)] = advance.next_offset
        return staged

    async def _refresh_agencies(self, records: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        topic_agencies = {inbox_agency(self._prefix, tp.topic) or "" for tp in records}
        if not topic_agencies <= self._agencies:
            self._agencies = await asyncio.to_thread(self._store.registered_agencies)

    def _prepare(self, records: list[ConsumerRecord]) -> list[Outgoing]:
        """Classify, dedupe and seal (blocking: runs in a thread); returns the dead letters."""
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
        fresh = []
        for event in accepted:
            if _ref(event) in seen:
                self.stats.counts["duplicate"] += 1
                continue
            seen.add(_ref(event))
            fresh.append(event)
        self._sealed = seal_records(self._keyring, fresh)
        return [
            self._dead_letter(rec, outcome)
            for rec, outcome in outcomes
            if isinstance(outcome, Rejected)
        ]

    def _dead_letter(self, record: ConsumerRecord, outcome: Rejected) -> Outgoing:
        now = datetime.now(UTC)
        kid = self._keyring.ensure_dlq_kid(now.date())
        inbox = InboxRecord(
            record.topic, record.partition, record.offset, record.key, record.value or b""
        )
        self.stats.counts[f"rejected_{outcome.error.reason}"] += 1
        self._rejections[outcome.error.reason.value] += 1
        value = dlq_payload(
            inbox, outcome.error, key=self._keyring.require_key(kid), kid=kid, received_at=now
        )
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
