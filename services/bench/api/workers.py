"""What the API bench runs against: the API in a child process on a free local port."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from infra.embedded.processes import free_port
from infra.endpoints import Endpoints
from infra.settings import ApiSettings
from services.api.serve import api_server, build_context


def _serve(bootstrap: str, database_url: str, key: bytes, prefix: str, port: int) -> None:
    """Child process: the API under uvicorn until SIGTERM."""
    settings = ApiSettings(topic_prefix=prefix, api_host="127.0.0.1")
    endpoints = Endpoints(bootstrap, database_url, embedded=False)
    api_server(settings, build_context(settings, endpoints, key), port).run()


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
def api_process(endpoints: Endpoints, key: bytes, prefix: str) -> Iterator[str]:
    """The real API in a spawned process on a free local port; yields its base URL."""
    port = free_port()
    args = (endpoints.bootstrap_servers, endpoints.database_url, key, prefix, port)
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=args)
    process.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_answering(base_url, process)
        yield base_url
    finally:
        process.terminate()  # SIGTERM: uvicorn shuts down gracefully
        process.join(30)
