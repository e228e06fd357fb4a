"""What a batch of the sealer carries between its two steps (projectors/sealer/batch.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiokafka import ConsumerRecord, TopicPartition

from projectors.outbox.sealed import EventRef, SealedRecord
from projectors.runtime.batch_send import JSON_HEADERS
from projectors.sealer.dlq import DeadLetterRow
from projectors.sealer.store import PositionAdvance

Records = dict[TopicPartition, list[ConsumerRecord]]


@dataclass(frozen=True)
class Outgoing:
    """A record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: JSON_HEADERS)


@dataclass
class Prepared:
    """A batch checked and sealed, not yet committed."""

    records: Records
    advances: list[PositionAdvance]
    sealed: list[SealedRecord] = field(default_factory=list)
    dead: list[DeadLetterRow] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    laps: dict[str, float] = field(default_factory=dict)

    @property
    def refs(self) -> set[EventRef]:
        """``(source, id)`` of the records this batch seals."""
        return {record.ref for record in self.sealed}


class SealerStats:
    """Running counts, for logs and metrics."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def snapshot(self) -> dict[str, int]:
        """Counts so far: sealed, duplicate, and rejected by reason."""
        return dict(self.counts)
