"""Every Kafka client Haven builds takes the one security configuration.

Reads every module of the production packages with ``ast`` and checks that
each kafka-python, aiokafka and Faust client constructor gets its arguments
from :mod:`events.kafka_security` (directly, or through the publisher's
``producer_config``).  The embedded broker's own readiness probe is the one
exception: the embedded broker speaks PLAINTEXT only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = {
    "KafkaProducer",
    "KafkaConsumer",
    "KafkaAdminClient",
    "AIOKafkaProducer",
    "AIOKafkaConsumer",
    "AIOKafkaAdminClient",
    "App",
}
CONFIGURED_BY = {"kafka_python_kwargs", "aiokafka_kwargs", "faust_kwargs", "producer_config"}
EMBEDDED_ONLY = {"infra/embedded/broker.py"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def unconfigured(source: str) -> list[str]:
    """``line client`` of each client constructor in ``source`` without the configuration."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _name(node.func) not in CLIENTS:
            continue
        spread = {
            _name(k.value.func)
            for k in node.keywords
            if k.arg is None and isinstance(k.value, ast.Call)
        }
        if not spread & CONFIGURED_BY:
            found.append(f"{node.lineno} {_name(node.func)}")
    return found


def unconfigured_clients() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{problem}"
        for package in ("events", "infra", "projectors", "services")
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in EMBEDDED_ONLY
        for problem in unconfigured(path.read_text(encoding="utf-8"))
    ]


def test_every_client_takes_the_security_configuration() -> None:
    assert unconfigured_clients() == []


def test_a_client_without_it_is_caught() -> None:
    assert unconfigured("p = KafkaProducer(bootstrap_servers='x', acks='all')\n") == [
        "1 KafkaProducer"
    ]
    assert unconfigured("c = aiokafka.AIOKafkaConsumer('t', **extra)\n") == ["1 AIOKafkaConsumer"]
    assert unconfigured("a = faust.App('id', **faust_kwargs())\n") == []
