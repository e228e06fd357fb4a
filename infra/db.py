"""SQLAlchemy engines, created on demand from a URL (never at import time).

Haven's database work is blocking SQLAlchemy Core; code inside the Faust
event loop runs it in a thread (``asyncio.to_thread``), batched.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


def sync_engine(database_url: str, *, pool_size: int = 5, pre_ping: bool = True) -> Engine:
    """A psycopg 3 engine with a small pool.

    ``pre_ping`` checks every connection with a round trip when it leaves the
    pool; without it (the API's hot path) connections are recycled after five
    minutes and the caller retries once on a dropped connection instead.
    """
    if pre_ping:
        return create_engine(database_url, pool_size=pool_size, pool_pre_ping=True)
    return create_engine(database_url, pool_size=pool_size, pool_recycle=300)
