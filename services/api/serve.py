"""Building the API's context from settings and serving it with uvicorn."""

from __future__ import annotations

import uvicorn

from infra.collector import tune_collector
from infra.db import sync_engine
from infra.endpoints import Endpoints
from infra.settings import ApiSettings
from projectors.keys.keyring import Keyring
from services.api.app import create_app
from services.api.context import ApiContext, reader_engine
from services.api.edge.ratelimit import RateLimiter
from services.api.tokens import TokenCache


def build_context(settings: ApiSettings, endpoints: Endpoints, master_key: bytes) -> ApiContext:
    """Engines and keyring for the API (the database must be migrated)."""
    core = sync_engine(endpoints.database_url, pool_size=20, pre_ping=False)
    api_url = settings.api_database_url.get_secret_value() if settings.api_database_url else None
    return ApiContext(
        core=core,
        reader=reader_engine(core, master_key, api_url),
        keyring=Keyring(core, master_key),
        topic_prefix=settings.topic_prefix,
        bootstrap_servers=endpoints.bootstrap_servers,
        limiter=RateLimiter(settings.api_rate_limit, settings.api_rate_burst),
        tokens=TokenCache(settings.api_token_cache_s),
    )


def api_server(settings: ApiSettings, context: ApiContext, port: int) -> uvicorn.Server:
    """A uvicorn server for the app (``run()`` blocks; Ctrl-C/SIGTERM stop it gracefully);
    the process's garbage collector is set for serving (:mod:`infra.collector`)."""
    app = create_app(context)
    tune_collector()
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)
