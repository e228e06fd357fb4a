"""The oversight console under ``/console``: server-rendered pages on the API process.

Sign-in exchanges an agency token for a session cookie; every page reads
under the agency's own database role like the API (docs/console.md).
"""

from __future__ import annotations

from fastapi import FastAPI

from services.api.console.routes import ROUTERS
from services.api.console.web import install_errors

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the console's routers and its error pages to ``app``."""
    install_errors(app)
    for router in ROUTERS:
        app.include_router(router)
