"""HTTP access log: one structured line per request, never a subject value.

The line names the route's path template (``/v1/subjects/{subject_id}``,
never the id itself), the method, status, duration and the calling agency
(set by authentication on the request state).  A pure ASGI middleware, so
responses stream through untouched.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("haven.api.access")


class AccessLog:
    """Logs ``http request`` with method, path template, status, duration_ms and agency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            logger.info(
                "http request",
                extra={
                    "method": scope["method"],
                    "path": getattr(route, "path", None) or "(no route)",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1e3, 2),
                    "agency": scope.get("state", {}).get("agency_id"),
                },
            )
