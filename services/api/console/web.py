"""Rendering, the signed-in viewer, page access by agency type, CSRF and error pages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from projectors.directory.agencies import AgencyNotFound, get_agency
from services.api.auth import Caller
from services.api.console.messages import LANGUAGE, message
from services.api.console.sessions import COOKIE, Session, find_session
from services.api.deps import ContextDep

_HERE = Path(__file__).parent
#: Which agency types may open each group of pages (None: every agency).
PAGE_GROUPS: dict[str, frozenset[str] | None] = {
    "audit": frozenset({"auditor"}),
    "ops": frozenset({"auditor"}),
    "indicators": frozenset({"coordinator", "auditor"}),
    "risk": None,
}
#: The navigation: (group, path, message key), in order.
NAV = [
    ("audit", "/console/audit/chain", "chain"),
    ("audit", "/console/audit/trail", "trail"),
    ("audit", "/console/audit/access-log", "access_log"),
    ("audit", "/console/audit/erasures", "erasures"),
    ("indicators", "/console/indicators", "indicators"),
    ("risk", "/console/risk-register", "risk_register"),
    ("ops", "/console/ops/pipeline", "pipeline"),
    ("ops", "/console/ops/dead-letters", "dead_letters"),
    ("ops", "/console/ops/agencies", "agencies"),
]
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _when(value: Any) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["t"] = message
_env.globals["lang"] = LANGUAGE
_env.filters["when"] = _when


@dataclass(frozen=True)
class Viewer:
    """The signed-in agency and its session."""

    caller: Caller
    session: Session

    def nav(self) -> list[tuple[str, str]]:
        """(path, message key) of every page this agency may open."""
        return [(path, key) for group, path, key in NAV if may_open(self.caller, group)]


class ConsolePage(Exception):
    """Stop and answer with a page: a redirect (``location``) or an error page."""

    def __init__(
        self, status: int, *, location: str = "", viewer: Viewer | None = None, key: str = ""
    ) -> None:
        super().__init__(status)
        self.status, self.location, self.viewer, self.key = status, location, viewer, key


def may_open(caller: Caller, group: str) -> bool:
    """Whether the caller's agency type may open pages of ``group``."""
    allowed = PAGE_GROUPS[group]
    return allowed is None or caller.agency_type in allowed


def render(template: str, viewer: Viewer | None, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``templates/``, with the viewer's navigation and the console's headers."""
    html = _env.get_template(template).render(viewer=viewer, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(location: str) -> RedirectResponse:
    """303 See Other (after a form post)."""
    return RedirectResponse(location, status_code=303, headers=HEADERS)


def get_viewer(request: Request, context: ContextDep) -> Viewer:
    """The signed-in agency, or a redirect to the sign-in page."""
    session = find_session(context.core, request.cookies.get(COOKIE))
    if session is None:
        raise ConsolePage(303, location="/console/login")
    with context.core.connect() as conn:
        try:
            agency = get_agency(conn, session.agency_id)
        except AgencyNotFound:
            raise ConsolePage(303, location="/console/login") from None
    caller = Caller(agency.id, agency.agency_type, agency.jurisdiction, agency.db_role)
    return Viewer(caller, session)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def _group(group: str) -> Callable[[Viewer], Viewer]:
    def allowed(viewer: ViewerDep) -> Viewer:
        if not may_open(viewer.caller, group):
            raise ConsolePage(403, viewer=viewer, key="forbidden")
        return viewer

    return allowed


AuditorDep = Annotated[Viewer, Depends(_group("audit"))]
OperatorDep = Annotated[Viewer, Depends(_group("ops"))]
IndicatorsDep = Annotated[Viewer, Depends(_group("indicators"))]
RiskDep = Annotated[Viewer, Depends(_group("risk"))]


def check_csrf(expected: str | None, sent: str) -> None:
    """A form's token must equal the session's (or the sign-in cookie's): else 400."""
    if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise ConsolePage(400, key="bad_form")


def checked(viewer: Viewer, value: str, pattern: str) -> str:
    """A filter field's value, or a 400 page saying the filter is malformed."""
    if value and not re.fullmatch(pattern, value):
        raise ConsolePage(400, viewer=viewer, key="bad_filter")
    return value


def _page_for(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsolePage)
    if exc.location:
        return redirect(exc.location)
    title = "forbidden_title" if exc.status == 403 else "site"
    return render("error.html", exc.viewer, exc.status, title=title, key=exc.key)


def install_errors(app: FastAPI) -> None:
    """Answer :class:`ConsolePage` exceptions with pages."""
    app.add_exception_handler(ConsolePage, _page_for)
