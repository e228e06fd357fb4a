"""``haven up``: the whole backend, supervised (command and supervisor)."""

from services.cli.up.command import up

__all__ = ["up"]
