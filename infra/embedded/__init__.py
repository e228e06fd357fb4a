"""Embedded infrastructure: Tansu broker + PostgreSQL 18, no Docker needed.

Two modes over the same state file (``<HAVEN_DATA_DIR>/infra/state.json``):

* owned/foreground: ``with embedded_infra(data_dir) as endpoints:`` or
  ``EmbeddedInfra(data_dir).start()``; the children die with this process.
* detached: ``infra_up`` / ``infra_down`` / ``infra_status``, used by
  ``haven infra up|down|status``; the children outlive the command.

Importing this package starts and connects nothing.
"""

from __future__ import annotations

from infra.embedded.broker import BrokerError
from infra.embedded.detached import UpResult, infra_down, infra_status, infra_up
from infra.embedded.lifecycle import Timings
from infra.embedded.owned import EmbeddedInfra, embedded_infra
from infra.embedded.paths import InfraPaths
from infra.embedded.pgcluster import PostgresError
from infra.embedded.state import InfraState, ProcessRecord

__all__ = [
    "BrokerError",
    "EmbeddedInfra",
    "InfraPaths",
    "InfraState",
    "PostgresError",
    "ProcessRecord",
    "Timings",
    "UpResult",
    "embedded_infra",
    "infra_down",
    "infra_status",
    "infra_up",
]
