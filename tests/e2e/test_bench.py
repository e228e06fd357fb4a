"""``haven bench --json`` runs end to end, prints every figure and leaves no process behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.cli_run import leftovers, run_haven

pytestmark = pytest.mark.e2e

RATES = [
    "ingest_events_per_s",
    "sealer_events_per_s",
    "engine_events_per_s",
    "end_to_end_events_per_s",
    "floor_events_per_s",
    "replay_events_per_s",
]
LATENCIES = ["visible_p50_ms", "visible_p99_ms", "erasure_p50_ms", "erasure_p99_ms"]
API = ["api_read_p50_ms", "api_read_p99_ms", "api_reads_per_s"]
API += ["api_read_paced_p50_ms", "api_read_paced_p99_ms", "api_read_paced_per_s"]
KEYS = {
    "events",
    "fanout",
    "peak_rss_mb",
    "peak_pss_mb",
    "rss_scope",
    "machine",
    "scale",
    "idle_cpu_cores",
}
KEYS |= {*RATES, *LATENCIES, *API}


def test_bench_prints_one_json_object(embedded_data_dir: Path) -> None:
    result = run_haven(
        embedded_data_dir,
        *("bench", "--json", "--events", "600", "--subjects", "60", "--agencies", "6"),
        *("--withdrawals", "5", "--visible-seconds", "1", "--recovery-events", "600"),
        *("--idle-seconds", "1"),
        *("--api-clients", "5", "--api-reads", "100"),
        *("--scale", "300", "--scale-agencies", "8"),  # the series in order: tests/unit
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert set(figures) >= KEYS, KEYS - set(figures)
    assert figures["events"] == 600
    assert figures["agencies"] == 6
    assert 1 < figures["fanout"] < 10
    assert figures["refused_events"] == 0
    assert all(figures[name] > 0 for name in RATES)
    assert 0 < figures["visible_p50_ms"] <= figures["visible_p99_ms"]
    assert 0 < figures["erasure_p50_ms"] <= figures["erasure_p99_ms"]
    assert figures["visible_events"] == 1000
    assert figures["visible_not_seen"] == 0
    stages = figures["visible_stages_ms"]
    assert stages["events"] == 1000, "every paced event timed at each stage"
    for stage in ("inbox_to_sealer", "sealer_to_log", "log_to_visible"):
        assert stages[stage]["p50"] <= stages[stage]["p99"] < 60_000, stages
    assert stages["inbox_to_sealer"]["p50"] + stages["log_to_visible"]["p50"] > 0, stages
    _cpu_per_event(figures["drain_cpu_us_per_event"])
    cores = figures["visible_cpu_cores"]
    assert {"engine", "sealer", "postgres", "broker", "bench", "total"} <= set(cores), cores
    assert all(cores[kind] > 0 for kind in ("engine", "sealer", "postgres", "bench")), cores
    assert cores["total"] <= (os.cpu_count() or 1) + 0.5, cores
    idle = figures["idle_cpu_cores"]
    assert {"engine", "sealer", "postgres", "broker", "total"} <= set(idle), idle
    assert idle["broker"] > 0, idle  # the consumers' empty fetches reach it
    assert idle["total"] <= (os.cpu_count() or 1) + 0.5, idle
    assert 0 < figures["new_agency_visible_ms"] < 60_000
    assert figures["withdrawals_measured"] == 5
    assert figures["floor_events"] >= 600
    assert figures["replay_same"] is True
    assert 50 < figures["peak_rss_mb"] < 4000
    assert 30 < figures["peak_pss_mb"] < figures["peak_rss_mb"]  # the children share pages
    assert figures["lost_events"] == 0
    assert 0 < figures["api_read_p50_ms"] <= figures["api_read_p99_ms"]
    assert figures["api_reads"] == 100
    assert figures["api_reads_per_s"] > 0
    assert 0 < figures["api_read_paced_p50_ms"] <= figures["api_read_paced_p99_ms"]
    assert figures["api_read_offered_per_s"] == 1000
    assert figures["recovery_events"] == 600
    assert figures["recovery_s"] > 0
    scale = figures["scale"]
    assert [(p["events"], p["agencies"]) for p in scale["events"]] == [(300, 6)]
    assert [(p["events"], p["agencies"]) for p in scale["agencies"]] == [(600, 8)]
    for point in scale["events"] + scale["agencies"]:
        assert point["end_to_end_events_per_s"] > 0
        assert point["drain_s"] > 0
        assert 50 < point["peak_rss_mb"] < 4000
        assert 30 < point["peak_pss_mb"] < point["peak_rss_mb"]
        _cpu_per_event(point["cpu_us_per_event"])
    assert leftovers(embedded_data_dir) == []


def _cpu_per_event(cpu: dict[str, float]) -> None:
    """CPU per event by kind of process (the arithmetic: tests/unit). A drain of a few
    hundred events may be over, at one stage or all, by the time the worker is ready,
    and CPU times come in 10 ms ticks, so any kind may show nothing here."""
    assert {"engine", "sealer", "postgres", "broker", "total"} <= set(cpu), cpu
    assert all(value >= 0 for value in cpu.values()), cpu
    assert cpu["total"] >= cpu["engine"] + cpu["sealer"] + cpu["postgres"], cpu


def test_bench_scale_only_runs_that_series_alone(embedded_data_dir: Path) -> None:
    result = run_haven(
        embedded_data_dir,
        *("bench", "--json", "--events", "600", "--subjects", "60", "--agencies", "6"),
        *("--scale", "300", "--scale-only"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert not set(figures) & {*RATES, *LATENCIES, *API, "peak_rss_mb"}  # nothing else ran
    assert figures["scale"]["agencies"] == []
    (point,) = figures["scale"]["events"]
    assert (point["events"], point["agencies"]) == (300, 6)
    assert point["end_to_end_events_per_s"] > 0
    peaks = point["peak_rss_by_process_mb"]
    assert set(peaks) == {"supervisor", "sealer", "engine"}
    assert all(0 < peaks[kind] < point["peak_rss_mb"] for kind in peaks)
    assert leftovers(embedded_data_dir) == []
