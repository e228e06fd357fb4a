"""One role of ``haven worker`` as a Faust worker: the allocator tuned
(:mod:`infra.malloc`), migrations, policy, topics, then the app.

A child's name is its role, or ``engine:I/N`` for share ``I`` of ``N`` of
the log's partitions (:mod:`projectors.engine.share`).
"""

from __future__ import annotations

import logging
import time
from typing import cast

import faust

from events.topics import log_topic
from infra.endpoints import Endpoints
from infra.logs import logging_dict_config
from infra.malloc import tune_malloc
from infra.migrate import migrated_engine
from infra.secrets import load_master_key
from infra.settings import WorkerSettings
from infra.topics import core_topics, ensure_topics, topic_partitions
from projectors.app import EnginePart, create_app
from projectors.engine.share import Share
from projectors.outbox.activation import activate_policy
from projectors.policy.loader import default_policy_path, load_policy
from projectors.runtime.roles import Role

logger = logging.getLogger("haven.worker")
#: How long an engine share waits for the broker to name the log's partitions.
PARTITIONS_WAIT_S = 60.0


def run_role(settings: WorkerSettings, endpoints: Endpoints, name: str) -> None:
    """Run the child ``name`` (``sealer``, ``engine`` or ``engine:I/N``) until SIGTERM or
    SIGINT."""
    tune_malloc()  # before the role's threads start: they would each get an arena
    role, _, share = name.partition(":")
    with migrated_engine(endpoints) as engine:
        activate_policy(engine, load_policy(settings.policy_file or default_policy_path()))
    ensure_topics(
        endpoints.bootstrap_servers, core_topics(settings.topic_prefix, settings.partitions)
    )
    part = _part(endpoints, settings, Share.parse(share)) if share else None
    app = create_app(settings, endpoints, load_master_key(settings), cast(Role, role), part)
    faust.Worker(
        app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_dict_config(settings.log_level),
    ).execute_from_commandline()


def _part(endpoints: Endpoints, settings: WorkerSettings, share: Share) -> EnginePart:
    available = _log_partitions(endpoints, settings)
    part = EnginePart(share, tuple(share.partitions(available)))
    if not part.partitions:
        logger.warning(
            "engine share has no partitions: this process stays idle",
            extra={"share": str(share), "log_partitions": len(available)},
        )
    return part


def _log_partitions(endpoints: Endpoints, settings: WorkerSettings) -> list[int]:
    """The log's partitions once the broker names at least ``HAVEN_PARTITIONS`` of them.

    A loaded broker can answer a metadata request before it knows the topic
    (or all of it); a share computed from that would leave partitions that no
    process projects, so this asks again, and fails (the supervisor restarts
    the child) rather than start short.
    """
    topic = log_topic(settings.topic_prefix)
    deadline = time.monotonic() + PARTITIONS_WAIT_S
    while len(available := topic_partitions(endpoints.bootstrap_servers, topic)) < (
        settings.partitions
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the broker names {len(available)} partitions of the log, "
                f"expected {settings.partitions}"
            )
        time.sleep(0.5)
    return available
