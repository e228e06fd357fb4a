"""The composition root: the sealer, the engine, the scheduler and the in-process pipeline.

Every long-lived part of a worker is built here and only here, from settings
passed in; nothing connects until a part runs.  ``haven worker`` (the Faust
app), the in-process pipeline of the demo and benches, the engine test rig
and replays all construct their parts through these functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.engine.batch import EngineSettings
from projectors.engine.core import EngineCore
from projectors.engine.service import EngineConfig, EngineService
from projectors.engine.share import Share
from projectors.keys.keyring import Keyring
from projectors.outbox.webhook_delivery import WebhookDispatcher, WebhookSettings
from projectors.policy.loader import default_policy_path, load_policy
from projectors.policy.model import Policy
from projectors.readmodels.registry import default_registry
from projectors.readmodels.sdk import ProjectorRegistry
from projectors.runtime.heartbeat import Heartbeat
from projectors.runtime.loop_thread import Loop, LoopThread
from projectors.runtime.together import Together
from projectors.scheduler import Scheduler
from projectors.sealer.compose import (
    construct_sealer,
    construct_worker_sealer,
    sealer_pool,
    sealer_thread,
    worker_sealer_loops,
)
from projectors.sealer.service import SealerConfig


def construct_engine_core(
    engine: Engine,
    keyring: Keyring | None = None,
    *,
    policy: Policy | None = None,
    hold_s: float = 72 * 3600.0,
    registry: ProjectorRegistry | None = None,
) -> EngineCore:
    """The engine core with the default registry and policy unless others are given."""
    return EngineCore(
        engine,
        registry or default_registry(),
        policy or load_policy(default_policy_path()),
        EngineSettings(erasure_hold_s=hold_s),
        keyring,
    )


def construct_engine_service(
    core: EngineCore, config: EngineConfig, upstream: asyncio.Event | None = None
) -> EngineService:
    """The engine's consumer loop around ``core`` (connects when it runs).

    On stop it drains once ``upstream`` (the sealer's ``done``) is set.
    """
    return EngineService(config, core, upstream)


def construct_scheduler(
    engine: Engine,
    bootstrap: str,
    prefix: str,
    keyring: Keyring,
    tick_s: float,
    webhooks: WebhookDispatcher | None = None,
) -> Scheduler:
    """Key destruction, consent expiry, outbox relays and webhook deliveries (connects
    when it runs)."""
    return Scheduler(engine, bootstrap, prefix, keyring, tick_s=tick_s, webhooks=webhooks)


def engine_pool(database_url: str) -> Engine:
    """The database pool of an engine process's core.

    Its sessions plan each prepared statement once, for any parameters
    (``generic_plans``): the read-model writes name their row count, so
    Postgres replanned them at most executions (planning was a quarter of its
    statement time in the paced bench, much of it these), and the generic
    plan of a sized write joins any batch through the table's key
    (docs/engine.md).  No pre-ping, as the sealer's pools: a batch that meets
    a dropped connection is tried once more at once (``EngineCore.apply_together``).
    """
    return sync_engine(database_url, pre_ping=False, generic_plans=True)


def construct_worker_engine(
    settings: WorkerSettings,
    endpoints: Endpoints,
    keyring: Keyring,
    policy: Policy,
    upstream: asyncio.Event | None = None,
    share: Share | None = None,
) -> EngineService:
    """The projection engine as the worker's settings configure it, deciding by
    ``policy`` (the settings' policy file, loaded once per process).

    ``share``: a share of the log's partitions assigned by hand, instead of the group.
    """
    core = construct_engine_core(
        engine_pool(endpoints.database_url),
        keyring,
        policy=policy,
        hold_s=settings.erasure_hold_s,
    )
    config = EngineConfig(
        bootstrap_servers=endpoints.bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-engine",
        batch_max=settings.engine_batch_max,
        loaded_fetch_records=settings.loaded_fetch_records,
        doze_after_s=settings.doze_after_s,
        doze_fetch_wait_ms=settings.doze_fetch_wait_ms,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        retry_s=settings.engine_retry_s,
        drain_s=settings.stage_drain_s,
        share=share,
        log_partitions=settings.partitions,
    )
    return construct_engine_service(core, config, upstream)


def worker_engine_loops(
    settings: WorkerSettings,
    endpoints: Endpoints,
    master_key: bytes,
    shares: Sequence[Share],
    policy: Policy | None = None,
) -> list[tuple[str, Loop]]:
    """The loops of one engine process, by kind: one engine loop per share (none: the
    lone engine in the consumer group), run together; the scheduler where share 0 (or
    the lone engine) runs; the heartbeat.  ``policy``: the settings' policy, loaded
    once for all the shares (30-60 ms a load)."""
    keyring = Keyring(sync_engine(endpoints.database_url), master_key)
    policy = policy or load_policy(settings.policy_file or default_policy_path())
    engines = [
        construct_worker_engine(settings, endpoints, keyring, policy, share=share)
        for share in shares or (None,)
    ]
    roles = [f"engine:{share}" for share in shares] or ["engine"]
    ready = [engine.ready for engine in engines]
    beat = Heartbeat(sync_engine(endpoints.database_url, pool_size=1), ready, roles)
    loops: list[tuple[str, Loop]] = [
        ("engine", engines[0] if len(engines) == 1 else Together(engines))
    ]
    if not shares or any(share.runs_once_only_work for share in shares):
        loops.append(("scheduler", _worker_scheduler(settings, endpoints, master_key, keyring)))
    return [*loops, ("heartbeat", beat)]


def _worker_scheduler(
    settings: WorkerSettings, endpoints: Endpoints, master_key: bytes, keyring: Keyring
) -> Scheduler:
    return construct_scheduler(
        sync_engine(endpoints.database_url),
        endpoints.bootstrap_servers,
        settings.topic_prefix,
        keyring,
        settings.scheduler_tick_s,
        WebhookDispatcher(
            sync_engine(endpoints.database_url, pool_size=2),
            master_key,
            WebhookSettings(
                base_delay_s=settings.webhook_retry_base_s,
                max_delay_s=settings.webhook_retry_max_s,
                timeout_s=settings.webhook_timeout_s,
            ),
        ),
    )


def pipeline_threads(
    engine: Engine,
    bootstrap: str,
    prefix: str,
    master_key: bytes,
    *,
    hold_s: float = 0.0,
    scheduler_tick_s: float | None = None,
    delete_sealed_inbox_records: bool = True,
    registry: ProjectorRegistry | None = None,
) -> list[LoopThread]:
    """The pipeline in-process: started sealer and engine threads, plus the scheduler.

    The loops ``haven worker`` runs inside Faust, each on its own event loop in a
    thread, for the demo, the API bench and tests.  The scheduler runs when
    ``scheduler_tick_s`` is set.  Stop the threads in reverse order.
    """
    keyring = Keyring(engine, master_key)
    sealing = SealerConfig(
        bootstrap,
        prefix,
        delete_sealed_inbox_records=delete_sealed_inbox_records,
    )
    core = construct_engine_core(engine, keyring, hold_s=hold_s, registry=registry)
    projecting = EngineConfig(bootstrap, prefix, f"{prefix}-engine")
    threads = [
        sealer_thread(engine, keyring, sealing),
        LoopThread(lambda: construct_engine_service(core, projecting), "engine").start(),
    ]
    if scheduler_tick_s is not None:
        tick = scheduler_tick_s
        scheduling = LoopThread(
            lambda: construct_scheduler(
                engine, bootstrap, prefix, keyring, tick, WebhookDispatcher(engine, master_key)
            ),
            "scheduler",
        )
        threads.append(scheduling.start())
    return threads


__all__ = [
    "construct_engine_core",
    "construct_engine_service",
    "construct_scheduler",
    "construct_sealer",
    "construct_worker_engine",
    "construct_worker_sealer",
    "engine_pool",
    "pipeline_threads",
    "sealer_pool",
    "sealer_thread",
    "worker_engine_loops",
    "worker_sealer_loops",
]
