"""A stand-in for aiokafka's consumer and the fetcher settings the loops change
(projectors/runtime/fetcher.py)."""

from __future__ import annotations

from typing import cast

from aiokafka import AIOKafkaConsumer


class StubFetcher:
    """The per-partition fetch limit, the fetch wait and the bytes a fetch asks the
    broker to gather, at aiokafka's defaults."""

    def __init__(self) -> None:
        self._max_partition_fetch_bytes = 1024 * 1024
        self._fetch_max_wait_ms = 500
        self._fetch_min_bytes = 1


class _Consumer:
    def __init__(self, fetcher: object | None) -> None:
        self._fetcher = fetcher


def stub_consumer(fetcher: object | None) -> AIOKafkaConsumer:
    """A consumer whose fetcher is ``fetcher`` (None, or one without the settings: an
    aiokafka that keeps them elsewhere)."""
    return cast(AIOKafkaConsumer, _Consumer(fetcher))
