"""The pipeline in-process: sealer, engine and (optionally) scheduler threads.

The loops ``haven worker`` runs inside Faust, each on its own event loop in a
thread (:class:`LoopThread`), with the default registry and policy.  For the
demo, the API bench and tests that drive the pipeline in one process.
"""

from __future__ import annotations

from sqlalchemy import Engine

from projectors.engine.batch import EngineSettings
from projectors.engine.core import EngineCore
from projectors.engine.service import EngineConfig, EngineService
from projectors.keys.keyring import Keyring
from projectors.policy.loader import default_policy_path, load_policy
from projectors.readmodels.registry import default_registry
from projectors.runtime.loop_thread import LoopThread
from projectors.scheduler import Scheduler
from projectors.sealer.service import Sealer, SealerConfig
from projectors.sealer.store import SealerStore


def pipeline_threads(
    engine: Engine,
    bootstrap: str,
    prefix: str,
    master_key: bytes,
    *,
    hold_s: float = 0.0,
    scheduler_tick_s: float | None = None,
    delete_sealed_inbox_records: bool = True,
) -> list[LoopThread]:
    """Started sealer and engine threads, plus the scheduler when ``scheduler_tick_s`` is set.

    Stop them in reverse order (``thread.stop()``).
    """
    keyring = Keyring(engine, master_key)
    sealing = SealerConfig(
        bootstrap,
        prefix,
        f"{prefix}-sealer",
        delete_sealed_inbox_records=delete_sealed_inbox_records,
    )
    core = EngineCore(
        engine,
        default_registry(),
        load_policy(default_policy_path()),
        EngineSettings(erasure_hold_s=hold_s),
        keyring,
    )
    projecting = EngineConfig(bootstrap, prefix, f"{prefix}-engine")
    threads = [
        LoopThread(lambda: Sealer(sealing, SealerStore(engine), keyring), "sealer").start(),
        LoopThread(lambda: EngineService(projecting, core), "engine").start(),
    ]
    if scheduler_tick_s is not None:
        tick = scheduler_tick_s
        scheduling = LoopThread(
            lambda: Scheduler(engine, bootstrap, prefix, keyring, tick), "scheduler"
        )
        threads.append(scheduling.start())
    return threads
