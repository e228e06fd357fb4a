"""The sealer's fetch budget: one bound over all inbox partitions, shared among them."""

from __future__ import annotations

import logging
from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer

from projectors.sealer.config import (
    INBOX_FETCH_BUDGET,
    INBOX_FETCH_BYTES,
    MIN_PARTITION_FETCH_BYTES,
)
from projectors.sealer.fetch_budget import fit_fetches, partition_fetch_bytes


def test_the_limit_shares_the_budget_between_a_floor_and_a_ceiling() -> None:
    assert partition_fetch_bytes(36) == INBOX_FETCH_BYTES  # six agencies: as before
    assert partition_fetch_bytes(256) == INBOX_FETCH_BYTES  # 42 agencies
    assert partition_fetch_bytes(257) < INBOX_FETCH_BYTES
    at_600 = partition_fetch_bytes(3_600)  # 600 agencies
    assert MIN_PARTITION_FETCH_BYTES < at_600 < INBOX_FETCH_BYTES
    assert at_600 * 3_600 <= INBOX_FETCH_BUDGET
    assert partition_fetch_bytes(100_000) == MIN_PARTITION_FETCH_BYTES
    assert partition_fetch_bytes(0) == INBOX_FETCH_BYTES
    assert partition_fetch_bytes(4, budget=4 * 20_000) == 20_000


class _Fetcher:
    _max_partition_fetch_bytes = INBOX_FETCH_BYTES


class _Consumer:
    def __init__(self, fetcher: object | None) -> None:
        self._fetcher = fetcher


def test_the_limit_is_set_on_the_consumers_fetcher() -> None:
    fetcher = _Fetcher()
    consumer = cast(AIOKafkaConsumer, _Consumer(fetcher))
    assert fit_fetches(consumer, 3_600, INBOX_FETCH_BUDGET) == partition_fetch_bytes(3_600)
    assert fetcher._max_partition_fetch_bytes == partition_fetch_bytes(3_600)


def test_an_aiokafka_without_the_setting_keeps_its_limit_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A renamed internal must not stop the sealer: it warns and keeps reading."""
    with caplog.at_level(logging.WARNING, logger="haven.sealer"):
        assert fit_fetches(cast(AIOKafkaConsumer, _Consumer(None)), 10, INBOX_FETCH_BUDGET) is None
        assert fit_fetches(cast(AIOKafkaConsumer, _Consumer(object())), 10, 1) is None
    assert len(caplog.records) == 2
    assert "cannot bound the sealer's fetch memory" in caplog.records[0].getMessage()
