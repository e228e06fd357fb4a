"""The built-in read models of DOMAIN.md (``indicators`` lives in projectors.indicators)."""

from __future__ import annotations

from projectors.builtin.placements import Placements
from projectors.builtin.protective_orders import ProtectiveOrders
from projectors.builtin.refusals import Refusals
from projectors.builtin.risk_register import RiskRegister
from projectors.builtin.subjects import Subjects
from projectors.builtin.timeline import Timeline
from projectors.sdk import Projector


def builtin_projectors() -> list[Projector]:
    """Fresh instances, in the order the engine runs them (orders before subjects)."""
    return [ProtectiveOrders(), Placements(), RiskRegister(), Subjects(), Timeline(), Refusals()]
