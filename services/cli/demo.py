"""``haven demo``."""

from __future__ import annotations


def demo() -> None:
    """Run the scripted scenario."""
