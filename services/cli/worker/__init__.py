"""``haven worker``: the sealer and the engine, as one supervised pair or one role.

The typer command is :mod:`services.cli.worker.command`; the worker itself
starts from :mod:`services.cli.worker.direct`, which imports little.
"""
