"""The Faust application of one worker role: ``create_app(settings, endpoints, master_key, role)``.

``haven worker`` runs two roles in two processes, so neither waits on the
other's GIL: the **sealer** (inboxes to the sealed log) and the **engine**
(log to per-agency read models, plus the scheduler: key destruction, consent
expiry, outbox relays); an engine process runs one loop per share of the
log's partitions it was given (:mod:`projectors.engine.share`), together
(:class:`~projectors.runtime.together.Together`), and the process with share
0 runs the scheduler.  Each role beats its own heartbeat row.  The sealer
and the engine use aiokafka directly (see docs/engine.md); all database work
runs in threads.  Nothing connects until the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import faust
from faust.app.base import BootStrategy
from mode import Service

from events.kafka_security import faust_kwargs
from events.limits import MAX_MESSAGE_BYTES
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.engine.share import Share
from projectors.runtime.loop_thread import Loop
from projectors.runtime.roles import Role
from projectors.sealer.compose import worker_sealer_loops

if TYPE_CHECKING:
    from projectors.policy.model import Policy

logger = logging.getLogger("haven.worker")


class _LoopService(Service):
    """Runs ``target`` (a sealer, engine or scheduler loop) for the life of the worker.

    Faust instantiates registered service classes itself and finds them by
    module and name, so each loop has a module-level subclass whose
    ``target`` is set by :func:`create_app` (one app per worker process).
    Faust stops services one after the other; the first one stopped asks
    every loop to stop (``all_targets``), and each then waits (up to
    ``drain_s``) for its loop.
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
    """The role's readiness heartbeat."""


#: The service that runs each kind of loop a role's composition returns.
_SERVICES: dict[str, type[_LoopService]] = {
    "sealer": SealerService,
    "engine": EngineLoopService,
    "scheduler": SchedulerService,
    "heartbeat": HeartbeatService,
}


def _role_loops(
    settings: WorkerSettings,
    endpoints: Endpoints,
    master_key: bytes,
    role: Role,
    shares: Sequence[Share],
    policy: Policy | None,
) -> list[tuple[str, Loop]]:
    """The loops of ``role``, by kind.  Only an engine process imports the engine: the
    composition root imports the engine core, the read models and the scheduler, 5 MB the
    sealer's process would hold and never use."""
    if role == "sealer":
        return worker_sealer_loops(settings, endpoints, master_key)
    from projectors.bootstrap import worker_engine_loops

    return worker_engine_loops(settings, endpoints, master_key, shares, policy)


class _LoopsOnly(BootStrategy):
    """Faust's own Kafka consumer is not started: Haven's loops bring their own clients.

    Started, it joins one consumer group per role; after a worker is killed the
    group waits out the dead members, and the embedded broker makes each join
    wait the rebalance timeout, for a consumer nothing reads from.
    """

    enable_kafka_consumer = False


class _App(faust.App):
    BootStrategy = _LoopsOnly


def create_app(
    settings: WorkerSettings,
    endpoints: Endpoints,
    master_key: bytes,
    role: Role,
    shares: Sequence[Share] = (),
    policy: Policy | None = None,
) -> Any:
    """A configured Faust app running the loops of ``role`` (an engine's: of ``shares``
    of the log, or in the consumer group when none; ``policy``: the settings' policy if
    the caller loaded it already)."""
    datadir = settings.data_dir / "worker" / role  # Faust's own files; not the working directory
    datadir.mkdir(parents=True, exist_ok=True)
    app = _App(
        f"{settings.app_id}-{role}-worker",
        broker=[f"kafka://{server}" for server in endpoints.bootstrap_servers.split(",")],
        store="memory://",
        datadir=datadir,
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.partitions,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 3, 0.5),
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=MAX_MESSAGE_BYTES,
        **faust_kwargs(),
    )
    loops = _role_loops(settings, endpoints, master_key, role, shares, policy)
    for kind, target in loops:
        service = _SERVICES[kind]
        service.target = target
        app.service(service)
    _LoopService.all_targets = tuple(target for _, target in loops)
    _LoopService.drain_s = settings.drain_s
    return app
