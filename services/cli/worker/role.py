"""One role of ``haven worker`` as a Faust worker: the allocator tuned
(:mod:`infra.malloc`), migrations, policy, topics, then the app, and the
garbage collector set once it is built (:mod:`infra.collector`).

A child's name is its role, or ``engine:I/N[,J/N...]`` for the shares of
the log's partitions one engine process projects
(:mod:`projectors.engine.share`).
"""

from __future__ import annotations

from typing import cast

import faust

from infra.collector import tune_collector
from infra.endpoints import Endpoints
from infra.logs import logging_dict_config
from infra.malloc import tune_malloc
from infra.migrate import migrated_engine
from infra.secrets import load_master_key
from infra.settings import WorkerSettings
from infra.topics import core_topics, ensure_topics
from projectors.app import create_app
from projectors.engine.share import parse_shares
from projectors.outbox.activation import activate_policy
from projectors.policy.loader import default_policy_path, load_policy
from projectors.runtime.roles import Role


class _Worker(faust.Worker):
    """Faust's worker, but the process keeps its title: the ``haven worker --role ...``
    command line it runs (:mod:`services.cli.worker.forked`), not Faust's own."""

    def _setproctitle(self, info: str, *, ident: str = "") -> None:  # noqa: ARG002
        return None


def run_role(settings: WorkerSettings, endpoints: Endpoints, name: str) -> None:
    """Run the child ``name`` (``sealer``, ``engine`` or ``engine:I/N[,J/N...]``) until
    SIGTERM or SIGINT."""
    tune_malloc()  # before the role's threads start: they would each get an arena
    role, _, shares = name.partition(":")
    policy = load_policy(settings.policy_file or default_policy_path())  # once: 30-60 ms
    with migrated_engine(endpoints) as engine:
        activate_policy(engine, policy)
    ensure_topics(
        endpoints.bootstrap_servers, core_topics(settings.topic_prefix, settings.partitions)
    )
    engine_shares = parse_shares(shares.split(",")) if shares else ()
    app = create_app(
        settings, endpoints, load_master_key(settings), cast(Role, role), engine_shares, policy
    )
    tune_collector()  # start-up is done: what it made is frozen
    _Worker(
        app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_dict_config(settings.log_level),
    ).execute_from_commandline()
