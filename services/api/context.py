"""What the API needs at run time, built once in ``main()`` and passed to ``create_app``.

Two database engines: ``core`` (the service account: tokens, keys, access
log) and ``reader``, logged in as the NOINHERIT API role, used only inside a
transaction that has done ``SET LOCAL ROLE`` to the caller's agency role.
Neither pings a connection before use (a round trip per request); they
recycle connections after five minutes and the hot paths retry once on a
dropped connection (:mod:`services.api.db.retry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from infra.db import sync_engine
from projectors.directory.roles import api_login_password, enable_api_login
from projectors.keys.keyring import Keyring
from services.api.edge.ratelimit import RateLimiter
from services.api.tokens import TokenCache


@dataclass
class ApiContext:
    """Shared services of the running API."""

    core: Engine
    reader: Engine
    keyring: Keyring
    topic_prefix: str
    bootstrap_servers: str
    offsets: Any = None  # an aiokafka consumer without group, for end offsets
    limiter: RateLimiter = field(default_factory=RateLimiter)
    admin: Any = None  # an aiokafka admin client, for fresh topic metadata
    #: Set by ``haven up`` on stop: writes answer 503 while the worker drains.
    draining: bool = False
    #: Token -> caller for a few seconds (0: every call looks its token up).
    tokens: TokenCache = field(default_factory=lambda: TokenCache(0.0))


def api_login_url(core: Engine, master_key: bytes) -> str:
    """The API role's URL with its password derived from the master key (set here)."""
    with core.begin() as conn:
        role = enable_api_login(conn, master_key)
    url = core.url
    login = url.set(username=role, password=api_login_password(master_key, url.database or ""))
    return login.render_as_string(hide_password=False)


def reader_engine(core: Engine, master_key: bytes, api_database_url: str | None) -> Engine:
    """An engine logged in as the API role (derived password unless a URL is given)."""
    url = api_database_url or api_login_url(core, master_key)
    return sync_engine(url, pool_size=20, pre_ping=False)
