"""Fetch budgets: one bound over all of a consumer's partitions, shared among them."""

from __future__ import annotations

import logging

import pytest

from projectors.engine.service import LOG_ANSWER_BYTES, EngineConfig
from projectors.runtime.fetch_budget import FetchBudget, fit_fetches
from projectors.sealer.config import (
    INBOX_ANSWER_BYTES,
    INBOX_FETCH_BUDGET,
    INBOX_FETCH_BYTES,
    SealerConfig,
)
from tests.unit.fetcher_stub import StubFetcher, stub_consumer

INBOXES = SealerConfig("localhost:9092").fetch_budget


def test_the_limit_shares_the_budget_between_a_floor_and_a_ceiling() -> None:
    assert INBOXES.total == INBOX_FETCH_BUDGET
    assert INBOXES.per_partition(36) == INBOX_FETCH_BYTES  # six agencies: as before
    assert INBOXES.per_partition(256) == INBOX_FETCH_BYTES  # 42 agencies
    assert INBOXES.per_partition(257) < INBOX_FETCH_BYTES
    at_600 = INBOXES.per_partition(3_600)  # 600 agencies
    assert INBOXES.least < at_600 < INBOX_FETCH_BYTES
    assert at_600 * 3_600 <= INBOX_FETCH_BUDGET
    assert INBOXES.per_partition(100_000) == INBOXES.least
    assert INBOXES.per_partition(0) == INBOX_FETCH_BYTES
    assert FetchBudget(4 * 20_000, 10**6, 2 * 10**6).per_partition(4) == 20_000


def test_each_budget_bounds_an_answer_below_the_clients_default() -> None:
    """The answer's bound is what holds a partition on the embedded broker: every
    consumer's budget names one, well under aiokafka's 50 MiB."""
    assert INBOXES.answer == INBOX_ANSWER_BYTES < 50 * 2**20
    assert EngineConfig("localhost:9092").fetch_budget.answer == LOG_ANSWER_BYTES < 50 * 2**20
    assert EngineConfig("localhost:9092", fetch_answer_bytes=2**20).fetch_budget.answer == 2**20


def test_the_limit_is_set_on_the_consumers_fetcher() -> None:
    fetcher = StubFetcher()
    consumer = stub_consumer(fetcher)
    assert fit_fetches(consumer, 3_600, INBOXES, "sealer") == INBOXES.per_partition(3_600)
    assert fetcher._max_partition_fetch_bytes == INBOXES.per_partition(3_600)


def test_an_aiokafka_without_the_setting_keeps_its_limit_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A renamed internal must not stop the loop: it warns and keeps reading."""
    with caplog.at_level(logging.WARNING, logger="haven.fetch"):
        assert fit_fetches(stub_consumer(None), 10, INBOXES, "sealer") is None
        assert fit_fetches(stub_consumer(object()), 10, INBOXES, "x") is None
    assert len(caplog.records) == 2
    assert "cannot bound the fetch memory" in caplog.records[0].getMessage()
