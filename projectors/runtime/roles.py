"""The processes of a worker, named apart from the Faust app so that the
worker's supervisor knows them without importing the stream processors."""

from __future__ import annotations

from typing import Literal

#: The processes of a worker; ``haven worker --role all`` supervises one of each.
Role = Literal["sealer", "engine"]
ROLES: tuple[Role, ...] = ("sealer", "engine")
