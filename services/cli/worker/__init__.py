"""``haven worker``: the sealer and the engine, as one supervised pair or one role."""

from services.cli.worker.command import worker

__all__ = ["worker"]
