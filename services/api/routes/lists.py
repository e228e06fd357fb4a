"""Lists of the caller's read models: risk register, protective orders, placements, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter

from projectors.readmodels.builtin.placements import Placements
from projectors.readmodels.builtin.protective_orders import ProtectiveOrders, active_clause
from projectors.readmodels.builtin.refusals import Refusals
from projectors.readmodels.builtin.risk_register import RiskRegister
from services.api.deps import (
    DEFAULT_PAGE,
    CallerDep,
    ContextDep,
    Cursor,
    Jurisdiction,
    Limit,
    SubjectQuery,
)
from services.api.listing import list_page
from services.api.models import Page, row_model

router = APIRouter(tags=["read models"])
RISK, ORDERS = RiskRegister.table, ProtectiveOrders.table
PLACEMENTS, REFUSALS = Placements.table, Refusals.table
_LAST_DAY = date(9999, 12, 31)
_LAST_TIME = datetime(9999, 12, 31, tzinfo=UTC)
#: The register's order: critical first, then earliest review, then oldest assessment.
RISK_ORDER = (
    sa.case((RISK.c.level == "critical", 0), else_=1),
    sa.func.coalesce(RISK.c.review_by, _LAST_DAY),
    sa.func.coalesce(RISK.c.assessed_at, _LAST_TIME),
    RISK.c.subject_id,
)

RiskEntry = row_model("RiskEntry", RISK)
OrderEntry = row_model("ProtectiveOrderEntry", ORDERS, active=bool)
PlacementEntry = row_model("PlacementEntry", PLACEMENTS)
RefusalEntry = row_model("RefusalEntry", REFUSALS)


@router.get("/v1/risk-register", response_model=Page[RiskEntry])  # type: ignore[valid-type]
async def risk_register(
    caller: CallerDep,
    context: ContextDep,
    level: Literal["critical", "high"] | None = None,
    jurisdiction: Jurisdiction = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Any:
    """Subjects at high or critical risk: critical first, then earliest review, then oldest."""
    query = sa.select(*RISK.columns)
    if level is not None:
        query = query.where(RISK.c.level == level)
    if jurisdiction is not None:
        query = query.where(RISK.c.jurisdiction == jurisdiction)
    return await list_page(context, caller, query, RISK_ORDER, (cursor, limit), "risk-register")


@router.get("/v1/protective-orders", response_model=Page[OrderEntry])  # type: ignore[valid-type]
async def protective_orders(
    caller: CallerDep,
    context: ContextDep,
    active: bool | None = None,
    jurisdiction: Jurisdiction = None,
    subject_id: SubjectQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Any:
    """Orders; ``active`` is computed now (not revoked, within validity)."""
    is_active = active_clause(ORDERS, datetime.now(UTC))
    query = sa.select(*ORDERS.columns, sa.func.coalesce(is_active, False).label("active"))
    if active is not None:
        query = query.where(is_active if active else sa.not_(sa.func.coalesce(is_active, False)))
    if jurisdiction is not None:
        issued_or_recognised = sa.or_(
            ORDERS.c.issuing_jurisdiction == jurisdiction,
            ORDERS.c.recognized_in.contains([jurisdiction]),
        )
        query = query.where(issued_or_recognised)
    if subject_id is not None:
        query = query.where(ORDERS.c.subject_id == subject_id)
    order = (ORDERS.c.order_id,)
    return await list_page(context, caller, query, order, (cursor, limit), "protective-orders")


@router.get("/v1/placements", response_model=Page[PlacementEntry])  # type: ignore[valid-type]
async def placements(
    caller: CallerDep,
    context: ContextDep,
    state: Literal["active", "ended"] | None = None,
    subject_id: SubjectQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Any:
    """Placements and their state (the location only where the policy shows it)."""
    query = sa.select(*PLACEMENTS.columns)
    if state is not None:
        query = query.where(PLACEMENTS.c.state == state)
    if subject_id is not None:
        query = query.where(PLACEMENTS.c.subject_id == subject_id)
    order = (PLACEMENTS.c.placement_id,)
    return await list_page(context, caller, query, order, (cursor, limit), "placements")


@router.get("/v1/refusals", response_model=Page[RefusalEntry])  # type: ignore[valid-type]
async def refusals(
    caller: CallerDep, context: ContextDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> Any:
    """The caller's own refused events and why."""
    query = sa.select(*REFUSALS.columns)
    order = (REFUSALS.c.time, REFUSALS.c.event_id)
    return await list_page(context, caller, query, order, (cursor, limit), None)
