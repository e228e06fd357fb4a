"""Engine shares of the log and their processes: every partition exactly once, the
scheduler once."""

from __future__ import annotations

import os

import pytest

from infra.settings import WorkerSettings
from projectors.engine.share import Share, all_shares, parse_shares, spread
from services.cli.worker.children import child_names, stage


@pytest.mark.parametrize(("count", "partitions"), [(1, 6), (2, 6), (2, 3), (3, 7), (4, 2)])
def test_the_shares_cover_every_partition_exactly_once(count: int, partitions: int) -> None:
    taken = [p for share in all_shares(count) for p in share.partitions(range(partitions))]
    assert sorted(taken) == list(range(partitions))


def test_a_share_takes_every_nth_partition_and_only_the_first_runs_the_scheduler() -> None:
    assert Share.parse("1/2").partitions([5, 0, 1, 2, 3, 4]) == [1, 3, 5]
    assert str(Share.parse(" 0/3 ")) == "0/3"
    assert [s.runs_once_only_work for s in all_shares(3)] == [True, False, False]


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0", "1/2/3"])
def test_a_malformed_share_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="INDEX/COUNT"):
        Share.parse(text)


def test_the_supervisor_names_one_child_per_engine_process() -> None:
    assert child_names(1, 1) == ["sealer", "engine"]  # one share: the consumer group
    assert child_names(1, 2) == ["sealer", "engine"]
    assert child_names(2, 1) == ["sealer", "engine:0/2,1/2"]
    assert child_names(2, 2) == ["sealer", "engine:0/2", "engine:1/2"]
    assert child_names(4, 2) == ["sealer", "engine:0/4,2/4", "engine:1/4,3/4"]
    assert [stage(name) for name in child_names(2, 2)] == ["sealer", "engine", "engine"]


@pytest.mark.parametrize(("count", "processes"), [(1, 1), (2, 1), (2, 2), (3, 2), (5, 3), (2, 4)])
def test_the_processes_run_every_share_exactly_once(count: int, processes: int) -> None:
    spread_out = spread(count, processes)
    assert len(spread_out) == min(count, processes)
    assert sorted(s.index for own in spread_out for s in own) == list(range(count))
    assert [any(s.runs_once_only_work for s in own) for own in spread_out].count(True) == 1


@pytest.mark.parametrize(
    "texts", [["0/2", "0/2"], ["0/2", "1/3"], ["0/2", "2/2"], ["1"], ["0/2", " 0/2"]]
)
def test_the_shares_of_one_process_are_distinct_and_of_one_count(texts: list[str]) -> None:
    with pytest.raises(ValueError, match=r"INDEX/COUNT|distinct and of one count"):
        parse_shares(texts)


def test_each_share_has_a_process_unless_told_otherwise() -> None:
    default = WorkerSettings(HAVEN_PARTITIONS=6)
    assert default.engine_share_count() == min(2, os.cpu_count() or 1)
    assert default.engine_process_count() == default.engine_share_count()
    assert WorkerSettings(HAVEN_ENGINE_SHARES=3).engine_share_count() == 3
    assert WorkerSettings(HAVEN_ENGINE_SHARES=1).engine_share_count() == 1
    lean = WorkerSettings(HAVEN_ENGINE_PROCESSES=1, HAVEN_PARTITIONS=6)
    assert (lean.engine_share_count(), lean.engine_process_count()) == (
        min(2, os.cpu_count() or 1),
        1,
    )


def test_engine_processes_never_outnumber_partitions_or_shares() -> None:
    assert WorkerSettings(HAVEN_ENGINE_PROCESSES=4, HAVEN_PARTITIONS=3).engine_process_count() == 3
    assert WorkerSettings(HAVEN_ENGINE_PROCESSES=4, HAVEN_PARTITIONS=3).engine_share_count() == 3
    assert WorkerSettings(HAVEN_ENGINE_PROCESSES=1).engine_process_count() == 1
    two = WorkerSettings(HAVEN_ENGINE_PROCESSES=2, HAVEN_PARTITIONS=6)
    assert (two.engine_share_count(), two.engine_process_count()) == (2, 2)
    one_share = WorkerSettings(HAVEN_ENGINE_SHARES=1, HAVEN_ENGINE_PROCESSES=2)
    assert one_share.engine_process_count() == 1
