"""SQLAlchemy engines, created on demand from a URL (never at import time).

Haven's database work is blocking SQLAlchemy Core; code inside the Faust
event loop runs it in a thread (``asyncio.to_thread``), batched.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


def sync_engine(database_url: str, *, pool_size: int = 5) -> Engine:
    """A psycopg 3 engine with a small pool and connection health checks."""
    return create_engine(database_url, pool_size=pool_size, pool_pre_ping=True)
