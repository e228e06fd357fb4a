"""The built-in read models (``indicators`` lives in projectors.readmodels.indicators)."""

from __future__ import annotations

from projectors.readmodels.builtin.placements import Placements
from projectors.readmodels.builtin.protective_orders import ProtectiveOrders
from projectors.readmodels.builtin.refusals import Refusals
from projectors.readmodels.builtin.risk_register import RiskRegister
from projectors.readmodels.builtin.subjects import Subjects
from projectors.readmodels.builtin.timeline import Timeline
from projectors.readmodels.sdk import Projector


def builtin_projectors() -> list[Projector]:
    """Fresh instances, in the order the engine runs them (orders before subjects)."""
    return [ProtectiveOrders(), Placements(), RiskRegister(), Subjects(), Timeline(), Refusals()]
