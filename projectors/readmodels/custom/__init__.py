"""This installation's own projectors (``haven projector new NAME`` writes them here).

List an instance of each in :func:`custom_projectors`; the engine runs them
after the built-ins, in every agency schema.
"""

from __future__ import annotations

from projectors.readmodels.sdk import Projector


def custom_projectors() -> list[Projector]:
    """Instances of the custom projectors the engine runs."""
    return []
