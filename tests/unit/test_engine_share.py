"""Engine processes' shares of the log: every partition exactly once, the scheduler once."""

from __future__ import annotations

import pytest

from infra.settings import WorkerSettings
from projectors.engine.share import Share, all_shares
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
    assert child_names(1) == ["sealer", "engine"]
    assert child_names(2) == ["sealer", "engine:0/2", "engine:1/2"]
    assert [stage(name) for name in child_names(2)] == ["sealer", "engine", "engine"]


def test_engine_processes_never_outnumber_partitions() -> None:
    assert WorkerSettings(HAVEN_ENGINE_PROCESSES=4, HAVEN_PARTITIONS=3).engine_process_count() == 3
    assert WorkerSettings(HAVEN_ENGINE_PROCESSES=1).engine_process_count() == 1
    assert 1 <= WorkerSettings(HAVEN_PARTITIONS=6).engine_process_count() <= 2
