"""Files other processes read while they change: replaced whole, never seen half written."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to a new file beside ``path`` (created with ``mode``) and rename it
    over ``path``: a reader sees the old content or the new, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


__all__ = ["replace_file"]
