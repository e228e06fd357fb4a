"""Long-running processes freeze what start-up made and collect young objects less often."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.collector import THRESHOLDS

PROBE = """
import gc, json
import projectors.engine.core  # what a worker imports before it tunes
from infra.collector import tune_collector
before = gc.get_threshold()
tune_collector()
print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))
"""


def test_tune_collector_freezes_start_up_and_raises_the_thresholds() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    before, after, frozen = json.loads(done.stdout)
    assert before == [700, 10, 10], "CPython's defaults"
    assert after == list(THRESHOLDS)
    assert THRESHOLDS[0] >= 10_000
    assert frozen > 50_000, "the modules and models imported at start-up"
