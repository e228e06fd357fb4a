"""``haven up``: embedded infra (unless configured), the worker and the API, until Ctrl-C.

Order: infra, migrations, topics (with the embedded broker, the log restored
from the archive and the sealed outbox's unarchived tail queued again:
:mod:`projectors.audit.reopen`), the worker (a child process, so the Faust worker
keeps its own event loop and signals), then the API in a thread of this
process (and with ``--api-workers N``, ``N - 1`` more API processes on the
same port: :mod:`services.api.processes`).  The main thread supervises
(:mod:`services.cli.up.supervise`): a crashed worker, Postgres or broker is
restarted with backoff.  Stopping (Ctrl-C, SIGTERM) drains: every API
process answers writes with 503 and ``Retry-After``, the worker gets SIGTERM
and seals, relays and applies what it has (SIGKILL after
``HAVEN_WORKER_STOP_TIMEOUT_S``), then the API and the infra this command
started stop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from infra.embedded import EmbeddedInfra
from infra.endpoints import Endpoints
from infra.files import replace_file
from infra.logs import configure_logging
from infra.migrate import migrated_engine
from infra.parent_death import die_with_parent
from infra.secrets import load_master_key
from infra.settings import ApiSettings
from projectors.audit.archive import RestoreFailed, RestoreRefused
from projectors.audit.reopen import reopen_log
from services.api.processes import ApiChildren, listening_socket
from services.api.serve import api_server, build_context
from services.cli.api import ApiPort
from services.cli.context import print_error
from services.cli.up.supervise import Supervisor, Worker

logger = logging.getLogger("haven.up")
#: In the data dir while ``haven up`` runs: the worker's process id (``haven
#: worker`` keeps it when it becomes its lean supervisor).
WORKER_PID_FILE = "worker.pid"
console = Console(stderr=True)


@contextmanager
def _infrastructure(settings: ApiSettings) -> Iterator[tuple[Endpoints, EmbeddedInfra | None]]:
    """The configured broker and database, else the embedded ones of the data dir."""
    kafka = settings.kafka_bootstrap_servers
    database = settings.database_url.get_secret_value() if settings.database_url else None
    if kafka and database:
        yield Endpoints(kafka, database, embedded=False), None
        return
    infra = EmbeddedInfra(settings.data_dir, timeout_s=60)
    with console.status("starting embedded broker and Postgres"):
        embedded = infra.start()
    try:
        endpoints = Endpoints(
            kafka or embedded.bootstrap_servers, database or embedded.database_url, embedded=True
        )
        yield endpoints, infra if infra.owned and not (kafka or database) else None
    finally:
        infra.stop()


def _reopen(settings: ApiSettings, endpoints: Endpoints) -> None:
    """Migrations, topics, and with the embedded broker the log back from the archive."""
    with migrated_engine(endpoints) as engine, console.status("reopening the log"):
        try:
            reopened = reopen_log(
                engine,
                endpoints.bootstrap_servers,
                settings.topic_prefix,
                settings.partitions,
                restore=endpoints.embedded,
            )
        except (RestoreRefused, RestoreFailed) as exc:
            print_error(f"the log cannot be restored: {exc}", "haven up")
            raise typer.Exit(1) from None
    if reopened.restore and reopened.restore.records:
        console.print(f"log restored from the archive: {reopened.restore.records} records")


def worker_pid_file(data_dir: Path) -> Path:
    """Where ``haven up`` keeps its running worker's process id (rewritten at each restart)."""
    return data_dir / WORKER_PID_FILE


def _start_worker(settings: ApiSettings, endpoints: Endpoints) -> subprocess.Popen[bytes]:
    env = os.environ | endpoints.env() | {"HAVEN_DATA_DIR": str(settings.data_dir.resolve())}
    worker = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        process_group=0,
        preexec_fn=die_with_parent(signal.SIGTERM, os.getpid()),
    )
    replace_file(worker_pid_file(settings.data_dir), f"{worker.pid}\n", mode=0o644)
    return worker


def _stop_worker(worker: subprocess.Popen[bytes], timeout_s: float) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout_s)
    except subprocess.TimeoutExpired:
        logger.warning("worker did not stop in time: killed", extra={"timeout_s": timeout_s})
        worker.kill()
        worker.wait()


def _on_signal(stopping: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("stop requested", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


ApiWorkers = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=64,
        help="API processes on the port (default HAVEN_API_WORKERS, else one per core, at most 2)",
    ),
]


def up(port: ApiPort = None, api_workers: ApiWorkers = None) -> None:
    """Run the whole backend: infra, sealer, engine, scheduler and the HTTP API."""
    settings = ApiSettings()
    workers = api_workers or settings.api_process_count()
    configure_logging(settings.log_level)
    stopping = threading.Event()
    _on_signal(stopping)
    with _infrastructure(settings) as (endpoints, infra):
        master_key = load_master_key(settings)
        _reopen(settings, endpoints)
        worker = Worker(lambda: _start_worker(settings, endpoints), _stop_worker)
        worker.process = worker.start()
        context = build_context(settings, endpoints, master_key)
        server = api_server(settings, context, port or settings.api_port)
        children = ApiChildren(workers - 1)
        if children.count:
            sock = listening_socket(settings.api_host, server.config.port)
            api = threading.Thread(target=server.run, args=([sock],), name="api", daemon=True)
            reader_url = context.reader.url.render_as_string(hide_password=False)
            children.start(settings, endpoints, master_key, sock, reader_url)
        else:
            api = threading.Thread(target=server.run, name="api", daemon=True)
        api.start()
        console.print(
            f"[green]haven up[/green]: API on http://{settings.api_host}:{server.config.port}"
        )
        supervisor = Supervisor(worker, infra, lambda: _reopen(settings, endpoints), stopping)
        try:
            supervisor.run(until=lambda: not (api.is_alive() and children.alive()))
        finally:
            context.draining = True  # writes answer 503 + Retry-After from now on
            children.drain()
            if worker.process is not None:
                with console.status("draining the worker"):
                    _stop_worker(worker.process, settings.worker_stop_timeout_s)
                worker_pid_file(settings.data_dir).unlink(missing_ok=True)
            server.should_exit = True
            children.stop()
            api.join(15)
    console.print("haven stopped")
    if not stopping.is_set():  # the API itself failed
        raise typer.Exit(1)
