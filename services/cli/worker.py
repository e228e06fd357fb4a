"""``haven worker``: run the Faust worker (sealer, engine, scheduler) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import faust

from infra.logs import configure_logging, logging_dict_config
from infra.secrets import load_master_key
from infra.settings import WorkerSettings
from infra.topics import core_topics, ensure_topics
from projectors.app import create_app
from projectors.outbox.activation import activate_policy
from projectors.policy.loader import default_policy_path, load_policy
from services.cli.context import endpoints_or_exit, migrated_engine


def worker() -> None:
    """Run the stream processors of this HAVEN_DATA_DIR's infrastructure."""
    settings = WorkerSettings()
    configure_logging(settings.log_level)
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        activate_policy(engine, load_policy(settings.policy_file or default_policy_path()))
    ensure_topics(
        endpoints.bootstrap_servers, core_topics(settings.topic_prefix, settings.partitions)
    )
    haven = create_app(settings, endpoints, load_master_key(settings))
    faust.Worker(
        haven.app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_dict_config(settings.log_level),
    ).execute_from_commandline()
