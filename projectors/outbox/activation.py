"""Putting the worker's policy into the log: ``haven.policy.activated.v1``.

The policy document is stored by digest in ``haven_core.policies`` and the
activation goes through the system outbox, so every partition switches at a
point of its log, and a replay decides with the same policy as the live run.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from events.types.system import PolicyActivated
from projectors.outbox.store import enqueue, system_event
from projectors.policy.model import Policy


def activate_policy(engine: Engine, policy: Policy) -> bool:
    """Store ``policy``; activate it unless it is the active one. True when activated now."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('haven-policy'))"))
        conn.execute(
            text(
                "INSERT INTO haven_core.policies (digest, policy_version, document)"
                " VALUES (:d, :v, :doc) ON CONFLICT DO NOTHING"
            ),
            {"d": policy.digest, "v": policy.policy_version, "doc": policy.canonical_json()},
        )
        active = conn.execute(
            text(
                "SELECT digest FROM haven_core.policies WHERE activated_at IS NOT NULL"
                " ORDER BY activated_at DESC LIMIT 1"
            )
        ).scalar()
        if active == policy.digest:
            return False
        conn.execute(
            text("UPDATE haven_core.policies SET activated_at = now() WHERE digest = :d"),
            {"d": policy.digest},
        )
        activated = PolicyActivated(policy_version=policy.policy_version, digest=policy.digest)
        enqueue(conn, system_event(activated))
    return True
