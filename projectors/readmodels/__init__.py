"""Read models: the projector SDK, the registry, built-ins, indicators and custom ones."""

from projectors.readmodels.changes import Rows
from projectors.readmodels.sdk import (
    EventView,
    Projector,
    ProjectorError,
    ProjectorRegistry,
    RefusalRecorder,
)

__all__ = [
    "EventView",
    "Projector",
    "ProjectorError",
    "ProjectorRegistry",
    "RefusalRecorder",
    "Rows",
]
