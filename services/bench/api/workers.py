"""What the API bench runs against: the API in child processes on a free local port."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from infra.db import sync_engine
from infra.embedded.processes import free_port
from infra.endpoints import Endpoints
from infra.logs import configure_logging
from infra.settings import ApiSettings
from services.api.context import api_login_url
from services.api.processes import listening_socket
from services.api.serve import api_server, build_context


def _serve(
    bootstrap: str, database_url: str, reader_url: str, key: bytes, prefix: str, sock: socket.socket
) -> None:
    """Child process: the API under uvicorn on the shared socket until SIGTERM, logging
    as ``haven up``'s API processes do (a JSON line per request, here to /dev/null)."""
    settings = ApiSettings(topic_prefix=prefix, api_host="127.0.0.1", api_database_url=reader_url)
    configure_logging(settings.log_level, open(os.devnull, "w"))  # noqa: SIM115 - process-long
    endpoints = Endpoints(bootstrap, database_url, embedded=False)
    context = build_context(settings, endpoints, key)
    api_server(settings, context, sock.getsockname()[1]).run(sockets=[sock])


def _wait_answering(base_url: str, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base_url}/v1/health", timeout=5)
            return
        except httpx.TransportError:
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start") from None
            time.sleep(0.2)


@contextmanager
def api_process(endpoints: Endpoints, key: bytes, prefix: str, workers: int = 1) -> Iterator[str]:
    """The real API in ``workers`` spawned processes sharing a free local port; its base URL."""
    core = sync_engine(endpoints.database_url)
    try:
        reader_url = api_login_url(core, key)
    finally:
        core.dispose()
    sock = listening_socket("127.0.0.1", free_port())
    args = (endpoints.bootstrap_servers, endpoints.database_url, reader_url, key, prefix, sock)
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_serve, args=args) for _ in range(workers)]
    for process in processes:
        process.start()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        for process in processes:
            _wait_answering(base_url, process)
        yield base_url
    finally:
        for process in processes:
            process.terminate()  # SIGTERM: uvicorn shuts down gracefully
        for process in processes:
            process.join(30)
        sock.close()
