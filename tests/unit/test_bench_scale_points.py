"""The scale series: which runs ``--scale`` and ``--scale-agencies`` ask for, in order."""

from __future__ import annotations

import pytest
import typer

from services.bench.scale import ScalePoint, scale_points
from services.cli.bench import _counts


def test_each_series_keeps_the_order_given_and_the_other_dimension_fixed() -> None:
    points = scale_points(
        _counts("300,900", "--scale"), _counts("8,60", "--scale-agencies"), 600, 6, 60
    )
    assert points["events"] == [ScalePoint(300, 6, 60), ScalePoint(900, 6, 90)]
    assert points["agencies"] == [ScalePoint(600, 8, 60), ScalePoint(600, 60, 60)]


def test_a_point_has_a_tenth_as_many_subjects_as_events_at_least_the_base_and_at_most_all() -> None:
    (small, large), _ = scale_points([40, 10_000_000], [], 600, 6, 60).values()
    assert small.subjects == 40  # never more subjects than events
    assert large.subjects == 1_000_000


def test_empty_series_run_nothing_and_bad_counts_are_refused_by_name() -> None:
    assert scale_points(_counts("", "--scale"), _counts(" ", "--scale-agencies"), 600, 6, 60) == {
        "events": [],
        "agencies": [],
    }
    with pytest.raises(typer.BadParameter, match="whole numbers"):
        _counts("300,lots", "--scale")
    with pytest.raises(typer.BadParameter, match="at least 4"):
        _counts("300,3", "--scale-agencies")
