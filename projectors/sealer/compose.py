"""How the sealer is built: its pool, the sealer itself, and the worker's sealer loops.

Part of the composition root (:mod:`projectors.bootstrap` re-exports it),
kept apart so that the sealer's process never imports the engine core, the
read models or the scheduler: 5 MB it would never use.
"""

from __future__ import annotations

from sqlalchemy import Engine

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.keys.keyring import Keyring
from projectors.runtime.heartbeat import Heartbeat
from projectors.runtime.loop_thread import Loop, LoopThread
from projectors.sealer.service import Sealer, SealerConfig
from projectors.sealer.store import SealerStore


def sealer_pool(database_url: str) -> Engine:
    """A database pool of the sealer (its store's or its keyring's).

    No pre-ping: a round trip per checkout, several per batch, cost a fifth of
    the sealer's time at small batches.  A batch that meets a dropped
    connection fails whole (the pool then replaces its connections) and is
    retried from the stored positions, as after any database error.
    """
    return sync_engine(database_url, pre_ping=False)


def construct_sealer(engine: Engine, keyring: Keyring, config: SealerConfig) -> Sealer:
    """The sealer with its store (connects when it runs)."""
    return Sealer(config, SealerStore(engine), keyring)


def construct_worker_sealer(
    settings: WorkerSettings, endpoints: Endpoints, keyring: Keyring
) -> Sealer:
    """The sealer as the worker's settings configure it."""
    config = SealerConfig(
        bootstrap_servers=endpoints.bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        batch_max=settings.sealer_batch_max,
        loaded_fetch_records=settings.loaded_fetch_records,
        doze_after_s=settings.doze_after_s,
        doze_fetch_wait_ms=settings.doze_fetch_wait_ms,
        idempotent_producer=settings.producer_idempotence,
        drain_s=settings.stage_drain_s,
    )
    return construct_sealer(sealer_pool(endpoints.database_url), keyring, config)


def worker_sealer_loops(
    settings: WorkerSettings, endpoints: Endpoints, master_key: bytes
) -> list[tuple[str, Loop]]:
    """The loops of the worker's sealer process, by kind: the sealer and its heartbeat."""
    keyring = Keyring(sealer_pool(endpoints.database_url), master_key)
    sealer = construct_worker_sealer(settings, endpoints, keyring)
    beat = Heartbeat(sync_engine(endpoints.database_url, pool_size=1), [sealer.ready], ("sealer",))
    return [("sealer", sealer), ("heartbeat", beat)]


def sealer_thread(engine: Engine, keyring: Keyring, config: SealerConfig) -> LoopThread:
    """A started sealer on its own event loop in a thread (tests and benches)."""
    return LoopThread(lambda: construct_sealer(engine, keyring, config), "sealer").start()


__all__ = [
    "construct_sealer",
    "construct_worker_sealer",
    "sealer_pool",
    "sealer_thread",
    "worker_sealer_loops",
]
