"""One batch of inbox records through the sealer: classify, dedupe, seal, commit to the outbox.

A batch goes in two steps, so the sealer can prepare the next batch while the
previous one commits (projectors/sealer/service.py): :meth:`BatchSealer.prepare`
classifies, dedupes and seals (CPU and key look-ups), :meth:`BatchSealer.commit`
produces the dead letters and commits the sealed records, their marks and the
positions in one transaction.  A batch prepared while another one commits
counts that one's records as sealed (its dedupe) and advances its positions
from where that one leaves them (its fencing); it is dropped if that commit fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Set
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord

from events.envelope import Event
from events.topics import inbox_agency
from projectors.keys.keyring import Keyring
from projectors.outbox.sealed import EventRef, SealedRecord
from projectors.runtime.batch_send import send_in_batches
from projectors.sealer.dlq import DeadLetterRow, InboxRecord, dlq_payload, safe_subject_key
from projectors.sealer.prepared import Outgoing, Prepared, Records, SealerStats
from projectors.sealer.seal import seal_records
from projectors.sealer.store import PositionAdvance, SealerStore
from projectors.sealer.transform import Accepted, Rejected, classify


def _ref(event: Event) -> EventRef:
    return (event.source, event.id)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1e3, 1)


class BatchSealer:
    """Prepares and commits batches; keeps the positions this worker believes it owns."""

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
        #: Committed next offsets.
        self.positions: dict[tuple[str, int], int | None] = {}
        #: Where the batches prepared but not yet committed leave each partition.
        self._planned: dict[tuple[str, int], int] = {}
        self.stats = SealerStats()
        self._agencies: frozenset[str] = frozenset()

    async def prepare(self, records: Records, committing: Set[EventRef] = frozenset()) -> Prepared:
        """Classify, dedupe and seal a batch; ``committing``: refs of a batch still committing."""
        started = time.perf_counter()
        await self._refresh_agencies(records)
        prepared = Prepared(records, self._advances(records))
        ordered = [rec for recs in records.values() for rec in recs]
        await asyncio.to_thread(self._prepare, prepared, ordered, committing)
        for advance in prepared.advances:
            self._planned[(advance.topic, advance.partition)] = advance.next_offset
        prepared.laps["prepare_ms"] = _ms(started)
        return prepared

    async def commit(self, prepared: Prepared, producer: AIOKafkaProducer) -> list[SealedRecord]:
        """Dead letters produced (and acknowledged), then sealed records, their marks,
        rejection counts and positions in one transaction; raises (nothing committed)
        on broker or database failure.  Returns the records sealed (new ones)."""
        started = time.perf_counter()
        await asyncio.gather(*await send_in_batches(producer, prepared.outgoing))
        prepared.laps["dlq_ms"] = _ms(started)
        staged: list[SealedRecord] = []
        await asyncio.to_thread(
            self._store.commit_batch,
            prepared.sealed,
            prepared.advances,
            prepared.rejections,
            prepared.dead,
            staged,
        )
        prepared.laps["commit_ms"] = _ms(started) - prepared.laps["dlq_ms"]
        self.stats.counts["sealed"] += len(staged)
        self.stats.counts["duplicate"] += len(prepared.sealed) - len(staged)
        for advance in prepared.advances:
            self.positions[(advance.topic, advance.partition)] = advance.next_offset
        return staged

    def forget_planned(self) -> None:
        """Batches prepared but not committed are dropped: advance from committed positions."""
        self._planned.clear()

    async def _refresh_agencies(self, records: Records) -> None:
        topic_agencies = {inbox_agency(self._prefix, tp.topic) or "" for tp in records}
        if not topic_agencies <= self._agencies:
            self._agencies = await asyncio.to_thread(self._store.registered_agencies)

    def _prepare(
        self, prepared: Prepared, records: list[ConsumerRecord], committing: Set[EventRef]
    ) -> None:
        """Classify, dedupe and seal (blocking: runs in a thread)."""
        outcomes = [
            (
                rec,
                classify(
                    rec.value or b"",
                    inbox_agency(self._prefix, rec.topic) or "",
                    self._agencies,
                    rec.headers,
                ),
            )
            for rec in records
        ]
        accepted = [o.event for _, o in outcomes if isinstance(o, Accepted)]
        seen = self._store.already_sealed(map(_ref, accepted)) | committing
        fresh = []
        for event in accepted:
            if _ref(event) in seen:
                self.stats.counts["duplicate"] += 1
                continue
            seen.add(_ref(event))
            fresh.append(event)
        prepared.sealed = seal_records(self._keyring, fresh)
        for rec, outcome in outcomes:
            if isinstance(outcome, Rejected):
                self._dead_letter(prepared, rec, outcome)

    def _dead_letter(self, prepared: Prepared, record: ConsumerRecord, outcome: Rejected) -> None:
        now = datetime.now(UTC)
        kid = self._keyring.ensure_dlq_kid(now.date())
        inbox = InboxRecord(
            record.topic, record.partition, record.offset, record.key, record.value or b""
        )
        self.stats.counts[f"rejected_{outcome.error.reason}"] += 1
        prepared.rejections[outcome.error.reason.value] += 1
        agency = inbox_agency(self._prefix, record.topic) or ""
        prepared.dead.append(DeadLetterRow(agency, inbox, outcome.error, now))
        value = dlq_payload(
            inbox, outcome.error, key=self._keyring.require_key(kid), kid=kid, received_at=now
        )
        prepared.outgoing.append(Outgoing(self._dlq, safe_subject_key(record.key), value))

    def _advances(self, records: Records) -> list[PositionAdvance]:
        def expected(key: tuple[str, int]) -> int | None:
            return self._planned[key] if key in self._planned else self.positions.get(key)

        return [
            PositionAdvance(
                tp.topic, tp.partition, expected((tp.topic, tp.partition)), recs[-1].offset + 1
            )
            for tp, recs in records.items()
            if recs
        ]
