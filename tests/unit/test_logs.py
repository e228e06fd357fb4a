"""The JSON log line of an exception: its type and where it was raised, never its message."""

from __future__ import annotations

import io
import json
import logging

from infra.logs import EXC_FRAMES, JsonFormatter


def _raise_with_a_value(depth: int) -> None:
    if depth:
        _raise_with_a_value(depth - 1)
    raise ValueError("Key (name)=(Maria Example) already exists")


def _logged(depth: int) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("haven.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        _raise_with_a_value(depth)
    except ValueError:
        logger.exception("step failed", extra={"step": "tick"})
    finally:
        logger.removeHandler(handler)
    line: dict[str, object] = json.loads(stream.getvalue())
    return line


def test_an_exception_is_logged_by_type_and_place_without_its_message() -> None:
    line = _logged(depth=0)
    assert line["msg"] == "step failed"
    assert line["step"] == "tick"
    assert line["exc_type"] == "ValueError"
    where = line["exc_where"]
    assert isinstance(where, list)
    assert where[-1].startswith("tests/unit/test_logs.py:")
    assert where[-1].endswith("in _raise_with_a_value")
    assert "Maria" not in json.dumps(line)


def test_only_the_innermost_frames_are_named() -> None:
    where = _logged(depth=EXC_FRAMES + 3)["exc_where"]
    assert isinstance(where, list)
    assert len(where) == EXC_FRAMES
    assert all(frame.endswith("in _raise_with_a_value") for frame in where)
