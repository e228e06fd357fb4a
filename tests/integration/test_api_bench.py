"""Smoke run of the API bench on the session's infra: tiny numbers, real HTTP."""

from __future__ import annotations

import argparse

import pytest
from rich.progress import Progress

from infra.endpoints import Endpoints
from services.bench.api.bench import run_api_bench

pytestmark = pytest.mark.integration


def test_api_bench_reports_its_figures(
    infra: Endpoints, database_url: str, topic_prefix: str
) -> None:
    args = argparse.Namespace(
        events=300, subjects=30, batch=100, post_clients=2, clients=5, reads=40, warmup=5
    )
    args.prefix = topic_prefix  # the session broker is shared: no fixed "bench" topics
    endpoints = Endpoints(infra.bootstrap_servers, database_url, embedded=False)
    with Progress(disable=True) as progress:
        figures = run_api_bench(endpoints, args, progress)
    assert figures["events_accepted"] == 300
    assert figures["post_events_per_s"] > 0
    assert figures["reads"] == 40
    assert figures["subjects_visible"] >= 30, "every identified subject, seen by its agency"
    assert 0 < figures["get_subject_p50_ms"] <= figures["get_subject_p99_ms"]
    assert 0 < figures["get_subject_paced_p50_ms"] <= figures["get_subject_paced_p99_ms"]
    assert 0 < figures["get_subject_paced_per_s"] <= 1000 * 1.05, "offered 1,000 reads/s"
