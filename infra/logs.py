"""Structured logging: one JSON object per line on stderr.

Call sites pass counts and timings as ``extra`` fields::

    logger.info("batch sealed", extra={"events": 500, "elapsed_ms": 12.5})

Never pass personal values: only ids, counts, reasons and timings.  An
exception's message can quote a value (a driver error's DETAIL line, a
rejected field), so a logged exception carries its type and where it was
raised (``exc_where``: the innermost frames' module, line and function), never
its message or its locals.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

# Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# How many of the innermost frames ``exc_where`` names.
EXC_FRAMES = 6


def exc_where(tb: TracebackType | None, frames: int = EXC_FRAMES) -> list[str]:
    """``module/path.py:line in function`` for the innermost ``frames`` frames, outermost first.

    Paths are cut after ``site-packages/`` (a library's frame) or to their
    last three parts, so a line names the code and never the machine's layout.
    """
    where = []
    for frame in traceback.extract_tb(tb)[-frames:]:
        path = frame.filename.replace("\\", "/")
        _, cut, tail = path.rpartition("site-packages/")
        short = tail if cut else "/".join(path.split("/")[-3:])
        where.append(f"{short}:{frame.lineno} in {frame.name}")
    return where


class JsonFormatter(logging.Formatter):
    """Formats a record as a single JSON line with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc_where"] = exc_where(record.exc_info[2])
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route the root logger to JSON lines on ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def logging_dict_config(level: str = "INFO") -> dict[str, Any]:
    """The same setup as a ``logging.config.dictConfig`` dict (Faust's worker takes one)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in ("kafka", "aiokafka", "faust", "mode")},
    }
