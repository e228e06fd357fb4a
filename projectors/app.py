"""The Faust application: ``create_app(settings, endpoints, master_key)``.

Three services run in the app: the sealer (inboxes to the sealed log), the
projection engine (log to per-agency read models) and the scheduler (key
destruction, consent expiry, outbox relays).  The sealer and the engine use
aiokafka directly (see docs/engine.md); all database work runs in threads.
Nothing connects until the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import faust
from mode import Service

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.engine_batch import EngineSettings
from projectors.engine_core import EngineCore
from projectors.engine_service import EngineConfig, EngineService
from projectors.heartbeat import Heartbeat
from projectors.keyring import Keyring
from projectors.loop_thread import Loop
from projectors.policy_loader import default_policy_path, load_policy
from projectors.registry import default_registry
from projectors.scheduler import Scheduler
from projectors.sealer import Sealer, SealerConfig
from projectors.sealer_store import SealerStore


def build_sealer(settings: WorkerSettings, endpoints: Endpoints, master_key: bytes) -> Sealer:
    """The sealer with its store and keyring (connects lazily)."""
    engine = sync_engine(endpoints.database_url)
    config = SealerConfig(
        bootstrap_servers=endpoints.bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-sealer",
        batch_max=settings.sealer_batch_max,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        idempotent_producer=settings.producer_idempotence,
        drain_s=settings.drain_s / 2,
    )
    return Sealer(config, SealerStore(engine), Keyring(engine, master_key))


logger = logging.getLogger("haven.worker")


def build_engine(
    settings: WorkerSettings,
    endpoints: Endpoints,
    keyring: Keyring,
    upstream: asyncio.Event | None = None,
) -> EngineService:
    """The projection engine's consumer loop and core (connects lazily)."""
    policy = load_policy(settings.policy_file or default_policy_path())
    core = EngineCore(
        sync_engine(endpoints.database_url),
        default_registry(),
        policy,
        EngineSettings(erasure_hold_s=settings.erasure_hold_s),
        keyring,
    )
    config = EngineConfig(
        bootstrap_servers=endpoints.bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-engine",
        batch_max=settings.engine_batch_max,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        retry_s=settings.engine_retry_s,
        drain_s=settings.drain_s,
    )
    return EngineService(config, core, upstream)


class _LoopService(Service):
    """Runs ``target`` (a sealer, engine or scheduler loop) for the life of the worker.

    Faust instantiates registered service classes itself and finds them by
    module and name, so each loop has a module-level subclass whose
    ``target`` is set by :func:`create_app` (one app per worker process).
    Faust stops services one after the other; the first one stopped asks
    every loop to stop (``all_targets``), so the sealer drains while the engine
    waits for it, and each then waits (up to ``drain_s``) for its own loop.
    """

    target: ClassVar[Loop]
    all_targets: ClassVar[tuple[Loop, ...]] = ()
    drain_s: ClassVar[float] = 20.0
    _running: asyncio.Future[Any] | None = None

    async def on_start(self) -> None:
        self._running = self.add_future(self.target.run())

    async def on_stop(self) -> None:
        for target in _LoopService.all_targets:
            target.stop()
        if self._running is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._running), self.drain_s)
        except TimeoutError:
            logger.warning("loop did not drain in time", extra={"loop": type(self).__name__})
        except Exception:  # the loop's own failure was logged where it happened
            logger.warning("loop ended with an error", extra={"loop": type(self).__name__})


class SealerService(_LoopService):
    """The sealer loop."""


class EngineLoopService(_LoopService):
    """The projection engine loop."""


class SchedulerService(_LoopService):
    """The scheduler loop."""


class HeartbeatService(_LoopService):
    """The worker's readiness heartbeat."""


@dataclass(frozen=True)
class HavenApp:
    """The Faust app and the services it runs."""

    app: Any
    sealer: Sealer
    engine: EngineService
    scheduler: Scheduler


def create_app(settings: WorkerSettings, endpoints: Endpoints, master_key: bytes) -> HavenApp:
    """A configured Faust app with the sealer, engine and scheduler attached."""
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in endpoints.bootstrap_servers.split(",")],
        store="memory://",
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.partitions,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 3, 0.5),
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=4 * 1_048_576,
    )
    sealer = build_sealer(settings, endpoints, master_key)
    keyring = Keyring(sync_engine(endpoints.database_url), master_key)
    engine = build_engine(settings, endpoints, keyring, sealer.done)
    scheduler = Scheduler(
        sync_engine(endpoints.database_url),
        endpoints.bootstrap_servers,
        settings.topic_prefix,
        keyring,
        tick_s=settings.scheduler_tick_s,
    )
    beat_engine = sync_engine(endpoints.database_url, pool_size=1)
    heartbeat = Heartbeat(beat_engine, [sealer.ready, engine.ready])
    for service, target in (
        (SealerService, sealer),
        (EngineLoopService, engine),
        (SchedulerService, scheduler),
        (HeartbeatService, heartbeat),
    ):
        service.target = target
        app.service(service)
    _LoopService.all_targets = (sealer, engine, scheduler, heartbeat)
    _LoopService.drain_s = settings.drain_s
    return HavenApp(app, sealer, engine, scheduler)
