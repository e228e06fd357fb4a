"""The log partitions of one engine process's share, read from the broker.

Asked with aiokafka's admin client, as the sealer finds its inbox
partitions (``projectors.sealer.inboxes``): every request is bounded by the
client's request timeout.  A loaded broker can answer before it knows the
log (or all of it); a share computed from that answer would leave partitions
that no process projects, so the lookup asks again until the broker names
at least the partitions the worker created the log with, and fails (the
supervisor restarts the process) rather than start short.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient

from events.kafka_security import aiokafka_kwargs
from projectors.engine.share import Share

#: How long a share waits for the broker to name the log's partitions.
WAIT_S = 60.0


async def share_partitions(
    bootstrap_servers: str, topic: str, share: Share, expected: int, wait_s: float = WAIT_S
) -> tuple[int, ...]:
    """``share`` of ``topic``'s partitions, once the broker names ``expected`` or more."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **aiokafka_kwargs())
    await admin.start()
    try:
        deadline = time.monotonic() + wait_s
        while len(found := await _partitions(admin, topic)) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the broker names {len(found)} partitions of the log, expected {expected}"
                )
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    return tuple(share.partitions(found))


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> set[int]:
    described = await admin.describe_topics([topic])
    return {
        part["partition"]
        for found in described
        if not found["error_code"] and found["topic"] == topic
        for part in found["partitions"]
    }
