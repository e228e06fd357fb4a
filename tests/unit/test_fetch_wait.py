"""The fetch wait follows the last poll: quiet after nothing, busy after records."""

from __future__ import annotations

import logging

import pytest

from projectors.engine.service import EngineConfig
from projectors.runtime.fetch_wait import CEILING_MS, REFERENCE_PARTITIONS, FetchWait
from projectors.sealer.config import SealerConfig
from tests.unit.fetcher_stub import StubFetcher, stub_consumer


def test_the_wait_is_busy_after_records_and_quiet_after_none() -> None:
    fetcher = StubFetcher()
    consumer = stub_consumer(fetcher)
    wait = FetchWait(quiet_ms=10, busy_ms=40)
    assert wait.after(consumer, True, "engine") == 40
    assert fetcher._fetch_max_wait_ms == 40
    assert wait.after(consumer, False, "engine") == 10
    assert fetcher._fetch_max_wait_ms == 10


def test_the_roles_wait_longer_when_busy_than_quiet() -> None:
    for config in (SealerConfig("localhost:9092"), EngineConfig("localhost:9092")):
        wait = config.fetch_wait
        assert wait.quiet_ms == config.fetch_max_wait_ms  # what the consumer is made with
        assert wait.quiet_ms < wait.busy_ms


def test_an_aiokafka_without_the_setting_keeps_the_quiet_wait_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A renamed internal must not stop the loop: it warns once and keeps reading."""
    consumer = stub_consumer(object())
    wait = FetchWait(quiet_ms=10, busy_ms=40)
    with caplog.at_level(logging.WARNING, logger="haven.fetch"):
        assert wait.after(consumer, True, "sealer") is None
        assert wait.after(consumer, False, "sealer") is None
        other = FetchWait(quiet_ms=10, busy_ms=40)  # another consumer's
        assert other.after(stub_consumer(None), True, "engine") is None
    assert len(caplog.records) == 2
    assert "cannot adapt the fetch wait" in caplog.records[0].getMessage()


def test_past_the_reference_both_waits_stretch_in_proportion_up_to_the_ceiling() -> None:
    wait = FetchWait(quiet_ms=25, busy_ms=60)
    waits = lambda: (wait.wait_ms(busy=False), wait.wait_ms(busy=True))  # noqa: E731
    wait.fit(36)  # six agencies' inboxes
    assert waits() == (25, 60)
    wait.fit(REFERENCE_PARTITIONS * 3)
    assert waits() == (75, min(180, CEILING_MS))
    wait.fit(3600)  # 600 agencies
    assert waits() == (CEILING_MS, CEILING_MS)
    wait.fit(6)  # fewer again: as configured
    assert waits() == (25, 60)


def test_a_wait_configured_above_the_ceiling_is_kept() -> None:
    wait = FetchWait(quiet_ms=CEILING_MS + 10, busy_ms=CEILING_MS + 20)
    wait.fit(REFERENCE_PARTITIONS * 100)
    assert (wait.wait_ms(busy=False), wait.wait_ms(busy=True)) == (CEILING_MS + 10, CEILING_MS + 20)


def test_the_stretched_wait_is_the_one_the_next_fetch_carries() -> None:
    fetcher = StubFetcher()
    wait = FetchWait(quiet_ms=10, busy_ms=40, reference_partitions=4)
    wait.fit(8)
    assert wait.after(stub_consumer(fetcher), False, "sealer") == 20
    assert fetcher._fetch_max_wait_ms == 20
