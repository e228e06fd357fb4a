"""Deletes sealed records from the inboxes: inboxes hold plaintext personal data.

After a batch commits, records below the committed positions are deleted
with the Kafka DeleteRecords API, at most every ``interval_s`` seconds.  The
inbox retention (24 h by default) is the backstop when a broker does not
support deletion; that is logged once, at warning level.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import KafkaError

from events.kafka_security import aiokafka_kwargs

logger = logging.getLogger("haven.sealer.janitor")


class InboxJanitor:
    """Rate-limited deletion of sealed inbox records."""

    def __init__(self, bootstrap_servers: str, *, interval_s: float = 5.0) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **aiokafka_kwargs())
        self._interval_s = interval_s
        self._last = 0.0
        self._deleted_up_to: dict[tuple[str, int], int] = {}
        self.enabled = True
        self._started = False

    @property
    def admin(self) -> AIOKafkaAdminClient:
        """The admin client (shared with the sealer's inbox watch)."""
        return self._admin

    async def start(self) -> None:
        """Connect the admin client."""
        await self._admin.start()
        self._started = True

    async def close(self) -> None:
        """Disconnect."""
        if self._started:
            await self._admin.close()

    async def delete_sealed(self, positions: Mapping[tuple[str, int], int | None]) -> int:
        """Delete below each committed position; returns how many partitions moved."""
        if not self.enabled or time.monotonic() - self._last < self._interval_s:
            return 0
        self._last = time.monotonic()
        todo = {
            TopicPartition(topic, part): RecordsToDelete(before_offset=pos)
            for (topic, part), pos in positions.items()
            if pos is not None and pos > self._deleted_up_to.get((topic, part), 0)
        }
        if not todo:
            return 0
        try:
            await self._admin.delete_records(todo, timeout_ms=5000)
        except (KafkaError, NotImplementedError) as exc:
            self.enabled = False
            logger.warning(
                "inbox deletion unsupported by the broker; relying on inbox retention",
                extra={"error": type(exc).__name__},
            )
            return 0
        for tp, spec in todo.items():
            self._deleted_up_to[(tp.topic, tp.partition)] = spec.before_offset
        logger.info("inbox records deleted", extra={"partitions": len(todo)})
        return len(todo)
