"""The log: its records as readers see them, and where each reader stands (positions)."""

from projectors.log.positions import (
    ENGINE_POSITIONS,
    SEALER_POSITIONS,
    PositionMoved,
    PositionStore,
)
from projectors.log.records import LoggedEvent, LogRecord, parse_record

__all__ = [
    "ENGINE_POSITIONS",
    "SEALER_POSITIONS",
    "LogRecord",
    "LoggedEvent",
    "PositionMoved",
    "PositionStore",
    "parse_record",
]
