"""Sign-in, sign-out, the overview page and the stylesheet."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from services.api.auth import caller_for
from services.api.console.sessions import COOKIE, SESSION_TTL, close_session, open_session
from services.api.console.web import ViewerDep, check_csrf, redirect, render
from services.api.deps import ContextDep

logger = logging.getLogger("haven.console")
router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_COOKIE = "haven_console_signin"
_CSS = Path(__file__).parents[1] / "static" / "console.css"
FormText = Annotated[str, Form(max_length=300)]


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _sign_in_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(32)  # double-submit: the form's copy must match the cookie's
    response = render("login.html", None, status, csrf=token, error=error)
    _cookie(response, request, LOGIN_COOKIE, token, 1800)
    return response


@router.get("/login", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _sign_in_page(request)


@router.post("/login", response_class=HTMLResponse)
def sign_in(request: Request, context: ContextDep, token: FormText, csrf: FormText) -> Response:
    """Exchange the agency token for a session cookie (the token is not kept)."""
    check_csrf(request.cookies.get(LOGIN_COOKIE), csrf)
    try:
        caller = caller_for(context.core, token.strip())
    except HTTPException:
        logger.warning("console sign-in refused")
        return _sign_in_page(request, 401, "bad_token")
    session_id, _ = open_session(context.core, caller.agency_id)
    logger.info("console sign-in", extra={"agency": caller.agency_id})
    response = redirect("/console")
    _cookie(response, request, COOKIE, session_id, int(SESSION_TTL.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
def sign_out(request: Request, viewer: ViewerDep, context: ContextDep, csrf: FormText) -> Response:
    """End the session here and in the database."""
    check_csrf(viewer.session.csrf_token, csrf)
    close_session(context.core, request.cookies.get(COOKIE, ""))
    logger.info("console sign-out", extra={"agency": viewer.caller.agency_id})
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("", response_class=HTMLResponse)
def overview(viewer: ViewerDep) -> HTMLResponse:
    """Who is signed in and the pages its agency may open."""
    return render("home.html", viewer)


@router.get("/static/console.css")
def stylesheet() -> Response:
    """The console's only stylesheet."""
    return Response(_CSS.read_bytes(), media_type="text/css")
