"""``haven projector``: scaffold custom read models (command and file templates)."""

from services.cli.projector.command import app

__all__ = ["app"]
