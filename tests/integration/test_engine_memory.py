"""A batch's state is freed when the batch ends, by reference counting alone.

The worker collects cyclic garbage rarely (``infra.collector``), so a batch
whose objects held one another in a cycle kept its whole state (every
parsed event, row change and subject state) until a full collection,
batches later: the engine processes' memory grew by half.  With the
collector off, no batch scope may outlive its batch.
"""

from __future__ import annotations

import gc
import os

from sqlalchemy import Engine

from projectors.engine.batch import BatchScope
from projectors.testing.engine_rig import EngineRig
from services.scenarios.audit import build_scenario
from services.scenarios.synthetic import first_cases


def test_no_batch_scope_outlives_its_batch(engine: Engine) -> None:
    rig = EngineRig(engine, os.urandom(32))
    build_scenario(rig, first_cases(40), 240, apply=False)
    gc.collect()
    gc.disable()
    try:
        rig.run(batch_size=60)
        alive = [o for o in gc.get_objects() if isinstance(o, BatchScope)]
    finally:
        gc.enable()
    assert rig.position == len(rig.log), "the whole log was applied"
    assert not alive, f"{len(alive)} batch scopes kept alive after their batches"
