"""The HTTP routes, one module per resource; ``ROUTERS`` is what the app mounts."""

from services.api.routes import audit, events, lists, ops, rights, subjects

ROUTERS = [ops.router, events.router, subjects.router, rights.router, lists.router, audit.router]

__all__ = ["ROUTERS"]
