"""The before/after table of a story step: one row per watching agency."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

from services.demo.views import ERASED_TEXT, AgencyView, Views

NOTHING = "·"
LEGEND = "+ new after this step   - gone after this step   a → b changed   · nothing"


def _join(*parts: object) -> str:
    words = [str(p).replace("_", " ") for p in parts if p not in (None, "", [])]
    return ", ".join(words) or NOTHING


def _profile(view: AgencyView) -> str:
    row = view.subject or {}
    minor = {True: "minor", False: "adult", None: None}[row.get("is_minor")]
    return _join(*(row.get("nationality") or []), minor, row.get("gender"), row.get("age_band"))


def _exploitation(view: AgencyView) -> str:
    return _join(*((view.subject or {}).get("exploitation_types") or []))


def _risk(view: AgencyView) -> str:
    level = (view.subject or {}).get("risk_level")
    notes = {None: None, ERASED_TEXT: "notes ERASED"}.get(view.notes, "notes")
    return _join(level, notes if level else None)


def _placement(view: AgencyView) -> str:
    if not view.placements:
        return NOTHING
    kind = view.placements[0].get("placement_type")
    return f"{kind} @ {view.location}" if view.location else f"{kind}, address hidden"


def _orders(view: AgencyView) -> str:
    kinds = _join(*sorted({str(o.get("order_type")) for o in view.orders}))
    return f"{kinds} vs {view.respondent}" if view.respondent else kinds


def _name(view: AgencyView) -> str:
    return view.name or ("(not shared)" if view.sees_subject else NOTHING)


COLUMNS: dict[str, Callable[[AgencyView], str]] = {
    "name": _name,
    "profile": _profile,
    "exploitation": _exploitation,
    "risk": _risk,
    "shelter placement": _placement,
    "protective order": _orders,
    "events": lambda view: str(view.timeline) if view.timeline else NOTHING,
}


def _cell(before: str, after: str) -> str:
    """``after``, marked when the step changed it."""
    if before == after:
        return after
    if before == NOTHING:
        return f"[green]+[/green] [bold green]{after}[/bold green]"
    if after == NOTHING:
        return f"[red]- [strike]{before}[/strike][/red]"
    return f"[dim]{before}[/dim] → [bold yellow]{after}[/bold yellow]"


def step_table(title: str, before: Views, after: Views) -> Table:
    """Each watcher's view after the step, marked against its view before."""
    table = Table(title=title, title_justify="left", caption=LEGEND, caption_justify="left")
    table.add_column("agency", no_wrap=True, style="cyan")
    for name in COLUMNS:
        table.add_column(name, overflow="fold")
    for agency, now in after.items():
        was = before.get(agency, AgencyView())
        table.add_row(agency, *(_cell(show(was), show(now)) for show in COLUMNS.values()))
    return table
