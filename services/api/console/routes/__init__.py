"""The console's routers, one module per page group; the session router last."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.console.routes import audit, ops, oversight, session

ROUTERS: list[APIRouter] = [audit.router, oversight.router, ops.router, session.router]

__all__ = ["ROUTERS"]
