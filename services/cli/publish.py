"""``haven publish FILE.jsonl --agency ID``."""

from __future__ import annotations


def publish() -> None:
    """Validate CloudEvents from a JSON Lines file and send them to the agency's inbox."""
