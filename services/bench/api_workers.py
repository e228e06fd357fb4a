"""What the API bench runs against: sealer and engine threads, the API in a child process."""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from infra.settings import ApiSettings
from projectors.engine_batch import EngineSettings
from projectors.engine_core import EngineCore
from projectors.engine_service import EngineConfig, EngineService
from projectors.keyring import Keyring
from projectors.loop_thread import LoopThread
from projectors.policy_loader import default_policy_path, load_policy
from projectors.registry import default_registry
from projectors.sealer import Sealer, SealerConfig
from projectors.sealer_store import SealerStore
from services.api.serve import api_server, build_context


def worker_threads(
    endpoints: Endpoints, engine: Engine, key: bytes, prefix: str
) -> list[LoopThread]:
    """A running sealer and engine (one each, like one ``haven worker``)."""
    bootstrap = endpoints.bootstrap_servers
    sealer_config = SealerConfig(bootstrap, prefix, group_id=f"{prefix}-sealer")
    engine_config = EngineConfig(bootstrap, prefix, group_id=f"{prefix}-engine")
    core = EngineCore(
        engine,
        default_registry(),
        load_policy(default_policy_path()),
        EngineSettings(),
        Keyring(engine, key),
    )
    return [
        LoopThread(
            lambda: Sealer(sealer_config, SealerStore(engine), Keyring(engine, key)), "sealer"
        ).start(),
        LoopThread(lambda: EngineService(engine_config, core), "engine").start(),
    ]


def _serve(bootstrap: str, database_url: str, key: bytes, prefix: str, port: int) -> None:
    """Child process: the API under uvicorn until SIGTERM."""
    settings = ApiSettings(topic_prefix=prefix, api_host="127.0.0.1")
    endpoints = Endpoints(bootstrap, database_url, embedded=False)
    api_server(settings, build_context(settings, endpoints, key), port).run()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    port = _free_port()
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
