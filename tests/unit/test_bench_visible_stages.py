"""The paced phase's stage figures, from the times each point recorded."""

from __future__ import annotations

from services.bench.visible_stages import STAGES, stage_figures


def test_each_stage_is_the_time_between_its_two_points() -> None:
    sent = {"a": 100.0, "b": 100.5}
    sealed = {"a": 100.020, "b": 100.560}
    logged = {"a": 100.030, "b": 100.580}
    visible = {"a": 100.130, "b": 100.780}
    figures = stage_figures(sent, sealed, logged, visible)
    assert figures["events"] == 2
    assert figures["inbox_to_sealer"] == {"p50": 20.0, "p99": 60.0}
    assert figures["sealer_to_log"] == {"p50": 10.0, "p99": 20.0}
    assert figures["log_to_visible"] == {"p50": 100.0, "p99": 200.0}


def test_an_event_missing_at_any_point_is_not_timed() -> None:
    sent = {"a": 1.0, "b": 1.0, "c": 1.0}
    figures = stage_figures(sent, {"a": 1.1, "b": 1.1}, {"a": 1.2, "c": 1.2}, {"a": 1.5})
    assert figures["events"] == 1
    assert figures["log_to_visible"] == {"p50": 300.0, "p99": 300.0}


def test_no_event_timed_gives_no_percentiles() -> None:
    figures = stage_figures({"a": 1.0}, {}, {}, {})
    assert figures["events"] == 0
    assert all(figures[stage] == {"p50": None, "p99": None} for stage in STAGES)
