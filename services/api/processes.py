"""More than one API process on one port: children serving the same listening socket.

``haven up --api-workers N`` binds the port once, serves it from a thread of
its own process as before, and starts ``N - 1`` spawned children that accept
on the same socket (the kernel spreads connections among them).  Each child
builds its own context (engines, token cache, rate limiter: all per process).
Stopping keeps the drain order of ``haven up``: :meth:`ApiChildren.drain`
(SIGUSR1) makes every child answer writes with 503 + ``Retry-After`` while
the worker drains, then :meth:`ApiChildren.stop` (SIGTERM) lets uvicorn
finish what is in flight.  Children sit in their own process group, so a
Ctrl-C in the terminal reaches ``haven up`` only, and die with it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
from multiprocessing.process import BaseProcess

from pydantic import SecretStr

from infra.endpoints import Endpoints
from infra.logs import configure_logging
from infra.parent_death import die_with_parent
from infra.settings import ApiSettings
from services.api.serve import api_server, build_context

logger = logging.getLogger("haven.api")


def listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound and listening, to hand to every process."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio only sets TCP_NODELAY on accepted
    # connections of such sockets (without it, Nagle adds 40 ms to a response).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _exit(*_: object) -> None:
    raise SystemExit(0)


def _child(
    settings: ApiSettings, endpoints: Endpoints, key: bytes, sock: socket.socket, parent: int
) -> None:
    """One more API process on the shared socket, until SIGTERM."""
    os.setpgid(0, 0)
    die_with_parent(signal.SIGTERM, parent)()
    configure_logging(settings.log_level)
    context = build_context(settings, endpoints, key)
    signal.signal(signal.SIGUSR1, lambda *_: setattr(context, "draining", True))
    signal.signal(signal.SIGTERM, _exit)  # uvicorn stops gracefully, then raises it again
    server = api_server(settings, context, sock.getsockname()[1])
    with contextlib.suppress(SystemExit):
        server.run(sockets=[sock])


class ApiChildren:
    """The extra API processes of ``haven up``."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[BaseProcess] = []

    def start(
        self,
        settings: ApiSettings,
        endpoints: Endpoints,
        key: bytes,
        sock: socket.socket,
        reader_url: str,
    ) -> None:
        """Spawn the children on ``sock``; they log in as the API role with ``reader_url``
        (the parent has set its password: no role changes racing each other)."""
        spawn = multiprocessing.get_context("spawn")
        settings = settings.model_copy(update={"api_database_url": SecretStr(reader_url)})
        for n in range(self.count):
            args = (settings, endpoints, key, sock, os.getpid())
            process = spawn.Process(target=_child, args=args, name=f"haven-api-{n + 1}")
            process.start()
            self.processes.append(process)
        if self.processes:
            logger.info("api processes started", extra={"children": len(self.processes)})

    def alive(self) -> bool:
        """Whether every child still runs."""
        return all(process.is_alive() for process in self.processes)

    def drain(self) -> None:
        """Writes answer 503 + Retry-After in every child from now on."""
        for process in self.processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGUSR1)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, wait, SIGKILL what is left."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout_s)
            if process.is_alive():
                process.kill()
                process.join()
