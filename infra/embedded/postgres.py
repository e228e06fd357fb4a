"""Running the embedded Postgres server (Haven over its Unix socket, tools over TCP).

The ``postgres`` binary is run directly (not ``pg_ctl``, which double-forks)
so an owner's death signal reaches the postmaster.  SIGINT is its fast
shutdown: sessions are rolled back and the cluster is checkpointed cleanly.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import psutil

from infra.embedded.paths import InfraPaths
from infra.embedded.pgcluster import PgCluster, PostgresError
from infra.embedded.processes import log_tail, spawn, stop

logger = logging.getLogger(__name__)

POSTGRES_STOP_SIGNAL = signal.SIGINT
DATABASE = "haven"

# Durable defaults (fsync and synchronous_commit stay on); sized for a dev box.
_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "128MB",
    # Data in memory or on SSD: a random read costs about what a sequential one does.
    # At the default 4 the planner scans small read-model tables whole for every
    # upsert of a few dozen rows (infra/DEPLOYMENT.md "PostgreSQL").
    "random_page_cost": "1.1",
    "unix_socket_permissions": "0700",
}


def database_url(cluster: PgCluster, port: int, socket_dir: Path, database: str = DATABASE) -> str:
    """The SQLAlchemy URL (psycopg 3 driver) of ``database`` on the embedded server, over
    its Unix socket in ``socket_dir`` (``port`` names the socket file).

    A round trip over the socket costs the client and the server about a third less
    CPU than over loopback TCP (docs/architecture.md "Where the time goes"); the
    server still listens on ``127.0.0.1:port`` for tools.
    """
    user, password = cluster.superuser, cluster.password
    return (
        f"postgresql+psycopg://{user}:{password}@:{port}/{database}?host={quote(str(socket_dir))}"
    )


def stop_orphan(paths: InfraPaths) -> None:
    """Stop a postmaster of this pgdata left running without a state file."""
    pid_file = paths.pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="ascii").splitlines()[0])
        proc = psutil.Process(pid)
        if proc.name() != "postgres" or str(paths.pgdata) not in proc.cmdline():
            return
        started = proc.create_time()
    except (OSError, ValueError, IndexError, psutil.Error):
        return
    logger.warning("postgres orphan stopping", extra={"pid": pid})
    stop(pid, started, POSTGRES_STOP_SIGNAL, timeout_s=15)


def start_postgres(
    cluster: PgCluster, paths: InfraPaths, port: int, *, owned: bool
) -> subprocess.Popen[bytes]:
    """Spawn the postmaster of ``cluster`` on ``127.0.0.1:port``."""
    stop_orphan(paths)
    argv = [str(cluster.bin_dir / "postgres"), "-D", str(cluster.pgdata), "-p", str(port)]
    argv += ["-k", str(paths.socket_dir)]
    for name, value in _SERVER_SETTINGS.items():
        argv += ["-c", f"{name}={value}"]
    logger.info("postgres spawning", extra={"port": port, "owned": owned})
    return spawn(
        argv,
        paths.logs / "postgres.log",
        owned=owned,
        death_signal=POSTGRES_STOP_SIGNAL,
        run_as=cluster.run_as,
    )


def _connect_and_create(cluster: PgCluster, port: int) -> bool:
    """Log in over TCP; create the ``haven`` database when missing.  False if not up yet."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=cluster.superuser,
            password=cluster.password,
            dbname="postgres",
            connect_timeout=3,
            autocommit=True,
        ) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if row.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
                logger.info("postgres database created", extra={"database": DATABASE})
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            raise PostgresError(
                f"embedded postgres at {cluster.pgdata}: the stored password was rejected"
            ) from None
        return False
    return True


def wait_postgres_ready(
    proc: subprocess.Popen[bytes],
    cluster: PgCluster,
    paths: InfraPaths,
    port: int,
    deadline: float,
) -> None:
    """Block until a real psycopg connection succeeds, or raise ``PostgresError``."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PostgresError(
                f"postgres exited with code {proc.returncode}:\n"
                f"{log_tail(paths.logs / 'postgres.log')}"
            )
        if _connect_and_create(cluster, port):
            return
        time.sleep(0.05)
    raise PostgresError(
        f"postgres not ready on 127.0.0.1:{port}:\n{log_tail(paths.logs / 'postgres.log')}"
    )
