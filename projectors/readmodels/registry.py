"""The projectors the engine runs: the built-ins, then the installation's own.

To add a projector, create it with ``haven projector new NAME`` and list an
instance in ``projectors/readmodels/custom/__init__.py`` (``custom_projectors``).
"""

from __future__ import annotations

from projectors.readmodels.custom import custom_projectors
from projectors.readmodels.indicators import Indicators
from projectors.readmodels.sdk import ProjectorRegistry


def default_registry() -> ProjectorRegistry:
    """A fresh registry with every built-in and custom projector."""
    from projectors.readmodels.builtin import builtin_projectors

    return ProjectorRegistry([*builtin_projectors(), Indicators(), *custom_projectors()])
