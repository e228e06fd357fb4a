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

from events.limits import MAX_MESSAGE_BYTES
from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.bootstrap import (
    construct_scheduler,
    construct_worker_engine,
    construct_worker_sealer,
)
from projectors.engine.service import EngineService
from projectors.keys.keyring import Keyring
from projectors.runtime.heartbeat import Heartbeat
from projectors.runtime.loop_thread import Loop
from projectors.scheduler import Scheduler
from projectors.sealer.service import Sealer

logger = logging.getLogger("haven.worker")


class _LoopService(Service):
    """Runs ``target`` (a sealer, engine or scheduler loop) for the life of the worker.

    Faust instantiates registered service classes itself and finds them by
    module and name, so each loop has a module-level subclass whose
    ``target`` is set by :func:`create_app` (one app per worker process).
    Faust stops services one after the other; the first one stopped asks
    every loop to stop (``all_targets``), so the sealer drains while the
    engine waits for it, and each then waits (up to ``drain_s``) for its loop.
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
        producer_max_request_size=MAX_MESSAGE_BYTES,
    )
    sealer = construct_worker_sealer(
        settings, endpoints, Keyring(sync_engine(endpoints.database_url), master_key)
    )
    keyring = Keyring(sync_engine(endpoints.database_url), master_key)
    engine = construct_worker_engine(settings, endpoints, keyring, sealer.done)
    scheduler = construct_scheduler(
        sync_engine(endpoints.database_url),
        endpoints.bootstrap_servers,
        settings.topic_prefix,
        keyring,
        settings.scheduler_tick_s,
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
