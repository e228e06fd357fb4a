"""The HTTP routes, one module per resource; ``ROUTERS`` is what the app mounts."""

from services.api.routes import (
    audit,
    dead_letters,
    events,
    lists,
    notices,
    ops,
    rights,
    subjects,
)

ROUTERS = [
    ops.router,
    events.router,
    subjects.router,
    rights.router,
    lists.router,
    audit.router,
    notices.router,
    dead_letters.router,
]

__all__ = ["ROUTERS"]
