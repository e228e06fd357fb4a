"""The HTTP routes, one module per resource; ``ROUTERS`` is what the app mounts."""

from services.api.routes import audit, events, lists, ops, subjects

ROUTERS = [ops.router, events.router, subjects.router, lists.router, audit.router]

__all__ = ["ROUTERS"]
