"""Per-type wire models: the whole structured-mode CloudEvent with typed ``data``.

Used by the codec's fast path, which validates a valid event in one pass over
its bytes instead of envelope and data separately.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import create_model

from events.envelope import Envelope
from events.types import EventData


@cache
def wire_model(model_cls: type[EventData]) -> type[Envelope]:
    """``Envelope`` with ``type`` fixed to the model's type and ``data`` typed by it."""
    event_type: Any = Literal[model_cls.event_type]
    return create_model(
        f"{model_cls.__name__}Wire",
        __base__=Envelope,
        __module__=__name__,
        type=(event_type, ...),
        data=(model_cls, ...),
    )
