"""Where the data files shipped with the code are, in a checkout or an installed wheel.

``contracts/`` (JSON Schemas, the AsyncAPI document, the default policy and
its schema) is a data-only package next to ``events``, ``projectors`` and the
rest; migrations live in ``infra/migrations``.  Code never looks for them
relative to a repository root.
"""

from __future__ import annotations

from pathlib import Path


def contracts_dir() -> Path:
    """The ``contracts`` directory of this installation."""
    import contracts  # a namespace package of data files: nothing runs on import

    return Path(next(iter(contracts.__path__)))


def default_policy_file() -> Path:
    """``contracts/policy/default-policy.yaml``."""
    return contracts_dir() / "policy" / "default-policy.yaml"


def policy_schema_file() -> Path:
    """``contracts/policy/policy.schema.json``."""
    return contracts_dir() / "policy" / "policy.schema.json"
