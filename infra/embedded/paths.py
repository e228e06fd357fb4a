"""Where the embedded infrastructure of one data dir keeps its files.

Layout under ``<HAVEN_DATA_DIR>/infra/``::

    state.json      pids, ports and URLs of the running infra (mode 0600)
    pg_password     the generated Postgres superuser password (mode 0600)
    pgdata/         the Postgres cluster (persists across restarts)
    run/            the Postgres Unix socket directory
    logs/           tansu.log and postgres.log
    .lock           serialises start and stop of this data dir
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

# sun_path is 108 bytes on Linux; ".s.PGSQL.65535.lock" needs 20 of them.
_MAX_SOCKET_DIR_CHARS = 80


@dataclass(frozen=True)
class InfraPaths:
    """The files of the embedded infra of one (absolute) data dir."""

    data_dir: Path

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> InfraPaths:
        """Resolve ``data_dir`` (relative to the working directory) to an absolute layout."""
        return cls(data_dir.expanduser().resolve())

    @property
    def root(self) -> Path:
        """``<data_dir>/infra``."""
        return self.data_dir / "infra"

    @property
    def state_file(self) -> Path:
        """The JSON record of the running infra."""
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        """The ``flock`` file that serialises ``up``/``down`` of this data dir."""
        return self.root / ".lock"

    @property
    def password_file(self) -> Path:
        """The Postgres superuser password, readable by the owner only."""
        return self.root / "pg_password"

    @property
    def pgdata(self) -> Path:
        """The Postgres cluster directory."""
        return self.root / "pgdata"

    @property
    def logs(self) -> Path:
        """Directory of the broker and Postgres logs."""
        return self.root / "logs"

    @property
    def socket_dir(self) -> Path:
        """The Postgres socket directory: inside the data dir unless that path is too long."""
        preferred = self.root / "run"
        if len(str(preferred)) <= _MAX_SOCKET_DIR_CHARS:
            return preferred
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"haven-pg-{digest}"

    def ensure(self) -> None:
        """Create the directories owned by the invoking user."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
