"""The fetch wait follows the last poll: quiet after nothing, busy after records."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from infra.settings import LOADED_FETCH_RECORDS, WorkerSettings
from projectors.engine.service import EngineConfig
from projectors.runtime.fetch_wait import (
    CEILING_MS,
    LOADED_MIN_BYTES,
    REFERENCE_PARTITIONS,
    FetchWait,
)
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


class _WaitOnly:
    """An aiokafka that keeps the wait where we look but the gathering elsewhere."""

    def __init__(self) -> None:
        self._fetch_max_wait_ms = 500


def test_an_aiokafka_without_the_gathering_keeps_the_wait_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fetcher = _WaitOnly()
    wait = FetchWait(quiet_ms=10, busy_ms=40, loaded_records=4)
    with caplog.at_level(logging.WARNING, logger="haven.fetch"):
        assert wait.after(stub_consumer(fetcher), 100, "engine") == 40
        assert wait.after(stub_consumer(fetcher), 0, "engine") == 10
    assert fetcher._fetch_max_wait_ms == 10
    assert len(caplog.records) == 1
    assert "gathering" in caplog.records[0].getMessage()


def test_past_the_reference_both_waits_stretch_in_proportion_up_to_the_ceiling() -> None:
    wait = FetchWait(quiet_ms=25, busy_ms=60)
    waits: Callable[[], tuple[int, int]] = lambda: (  # noqa: E731
        wait.wait_ms(busy=False),
        wait.wait_ms(busy=True),
    )
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


def test_a_poll_of_many_records_makes_the_next_fetches_gather_until_polls_thin_out() -> None:
    fetcher = StubFetcher()
    consumer = stub_consumer(fetcher)
    wait = FetchWait(quiet_ms=10, busy_ms=40, loaded_records=16)
    steps = []
    for records in (1, 15, 16, 9, 8, 7, 15, 40, 0):
        chosen = wait.after(consumer, records, "engine")
        steps.append((records, chosen, fetcher._fetch_min_bytes))
    gather = LOADED_MIN_BYTES
    assert steps == [
        (1, 40, 1),  # a light load: answered at once, as before
        (15, 40, 1),
        (16, 40, gather),  # loaded: the broker holds the fetch for the busy wait
        (9, 40, gather),  # stays loaded while polls bring half as many
        (8, 40, gather),
        (7, 40, 1),
        (15, 40, 1),  # below the threshold again: not loaded
        (40, 40, gather),
        (0, 10, 1),  # nothing: the quiet wait, answered at once
    ]


def test_a_threshold_of_zero_never_gathers() -> None:
    fetcher = StubFetcher()
    wait = FetchWait(quiet_ms=10, busy_ms=40, loaded_records=0)
    for records in (2000, 0, 1):
        wait.after(stub_consumer(fetcher), records, "sealer")
        assert fetcher._fetch_min_bytes == 1


def test_the_threshold_is_a_worker_setting_both_stages_take() -> None:
    assert WorkerSettings().loaded_fetch_records == LOADED_FETCH_RECORDS
    assert WorkerSettings(HAVEN_LOADED_FETCH_RECORDS=0).loaded_fetch_records == 0
    for config in (
        SealerConfig("localhost:9092", loaded_fetch_records=5),
        EngineConfig("localhost:9092", loaded_fetch_records=5),
    ):
        assert config.fetch_wait.loaded_records == 5
    assert SealerConfig("localhost:9092").fetch_wait.loaded_records == LOADED_FETCH_RECORDS


def test_after_a_pause_the_quiet_wait_dozes_until_records_come_again() -> None:
    wait = FetchWait(quiet_ms=10, busy_ms=40, doze_after_s=2.0, doze_ms=100)
    steps = []
    for records, now in ((5, 0.0), (0, 0.5), (0, 2.0), (0, 2.6), (0, 9.0), (1, 9.1), (0, 9.2)):
        wait.note(records, now)
        steps.append(wait.wait_ms(busy=records > 0, dozing=wait.dozing(now)))
    # quiet from the first empty poll (0.5 s); dozing 2 s later; awake at the next record
    assert steps == [40, 10, 10, 100, 100, 40, 10]


def test_a_doze_never_shortens_a_stretched_wait_and_zero_never_dozes() -> None:
    stretched = FetchWait(quiet_ms=25, busy_ms=60, doze_after_s=1.0, doze_ms=100)
    stretched.fit(REFERENCE_PARTITIONS * 100)
    stretched.note(0, 0.0)
    assert stretched.wait_ms(busy=False, dozing=stretched.dozing(5.0)) == CEILING_MS
    never = FetchWait(quiet_ms=10, busy_ms=40, doze_after_s=0.0, doze_ms=100)
    never.note(0, 0.0)
    assert not never.dozing(3600.0)
    assert never.wait_ms(busy=False, dozing=never.dozing(3600.0)) == 10


def test_the_roles_doze_as_the_settings_say() -> None:
    settings = WorkerSettings(HAVEN_DOZE_AFTER_S="0.5", HAVEN_DOZE_FETCH_WAIT_MS="80")
    assert (settings.doze_after_s, settings.doze_fetch_wait_ms) == (0.5, 80)
    for config in (SealerConfig("localhost:9092"), EngineConfig("localhost:9092")):
        wait = config.fetch_wait
        assert wait.doze_after_s > 0
        assert wait.doze_ms > wait.quiet_ms  # dozing waits longer than awake
