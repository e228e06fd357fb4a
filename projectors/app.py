"""The Faust application: ``create_app(settings, endpoints, master_key)``.

The sealer runs as a service of the app.  It consumes the inboxes with
aiokafka's pattern subscription (Faust 0.15's ``pattern=`` topics never
subscribed on the embedded broker), and keeps its positions in Postgres.
Nothing connects until the worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from mode import Service

from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.keyring import Keyring
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
    )
    return Sealer(config, SealerStore(engine), Keyring(engine, master_key))


def _service_for(sealer: Sealer) -> type[Service]:
    class SealerService(Service):
        """Runs the sealer loop for the life of the worker."""

        async def on_start(self) -> None:
            self.add_future(sealer.run())

        async def on_stop(self) -> None:
            sealer.stop()

    return SealerService


@dataclass(frozen=True)
class HavenApp:
    """The Faust app and the services it runs."""

    app: Any
    sealer: Sealer


def create_app(settings: WorkerSettings, endpoints: Endpoints, master_key: bytes) -> HavenApp:
    """A configured Faust app with the sealer service attached."""
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
    app.service(_service_for(sealer))
    return HavenApp(app, sealer)
