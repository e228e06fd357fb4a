"""What one log partition has seen of the world: agencies and the active policy.

System events reach every partition; each partition applies them at its own
point in the log, so what an agency receives depends only on log order and
replays decide as the live run did (docs/engine.md "System events").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from infra.db import Statement, read_together
from projectors.consent.agency_index import AgencyIndex
from projectors.consent.ledger import AgencyProfile
from projectors.consent.recipients import Recipients, for_policy
from projectors.policy.loader import load_policy_text
from projectors.policy.model import Policy


class PolicyUnknown(LookupError):
    """A ``policy.activated`` names a digest this database has never stored."""


@dataclass
class PolicyBook:
    """Loaded policies by digest, with their recipient deciders (computed once)."""

    default: Policy
    _deciders: dict[str, Recipients] = field(default_factory=dict)

    def recipients(self, conn: Connection, digest: str | None) -> Recipients:
        """The decider of the policy ``digest`` (None: the configured default)."""
        key = digest or self.default.digest
        if key not in self._deciders:
            self._deciders[key] = for_policy(self._load(conn, key))
        return self._deciders[key]

    def _load(self, conn: Connection, digest: str) -> Policy:
        if digest == self.default.digest:
            return self.default
        row = conn.execute(
            text("SELECT document FROM haven_core.policies WHERE digest = :d"), {"d": digest}
        ).first()
        if row is None:
            raise PolicyUnknown(f"policy {digest[:12]}... is not stored in haven_core.policies")
        return load_policy_text(row[0], f"<policy {digest[:12]}>")


_LOAD = (
    "SELECT agency_id, agency_type, jurisdiction, NULL FROM haven_core.partition_agencies"
    " WHERE topic = %(t)s AND partition = %(p)s"
    " UNION ALL SELECT NULL, NULL, NULL, digest FROM haven_core.partition_policies"
    " WHERE topic = %(t)s AND partition = %(p)s"
)


@dataclass
class PartitionContext:
    """Agencies registered and the policy active at this point of one partition."""

    topic: str
    partition: int
    agencies: AgencyIndex
    policy_digest: str | None

    @classmethod
    def load(cls, conn: Connection, topic: str, partition: int) -> PartitionContext:
        """The context stored for ``topic[partition]`` (one round trip)."""
        (rows,) = read_together(conn, [cls.statement(topic, partition)])
        return cls.from_rows(topic, partition, rows)

    @staticmethod
    def statement(topic: str, partition: int) -> Statement:
        """What :meth:`load` reads: a row per agency, and one with the policy digest."""
        return _LOAD, {"t": topic, "p": partition}

    @classmethod
    def from_rows(cls, topic: str, partition: int, rows: list[tuple[Any, ...]]) -> PartitionContext:
        """The context of the rows :meth:`statement` read."""
        agencies = AgencyIndex(AgencyProfile(r[0], r[1], r[2]) for r in rows if r[0] is not None)
        digest = next((r[3] for r in rows if r[0] is None), None)
        return cls(topic, partition, agencies, digest)

    def register(self, conn: Connection, agency: AgencyProfile) -> None:
        """An agency registration (or update) reached this partition."""
        self.agencies.add(agency)
        conn.execute(
            text(
                "INSERT INTO haven_core.partition_agencies"
                " (topic, partition, agency_id, agency_type, jurisdiction)"
                " VALUES (:t, :p, :a, :y, :j) ON CONFLICT (topic, partition, agency_id)"
                " DO UPDATE SET agency_type = :y, jurisdiction = :j"
            ),
            {
                "t": self.topic,
                "p": self.partition,
                "a": agency.id,
                "y": agency.agency_type,
                "j": agency.jurisdiction,
            },
        )

    def activate(self, conn: Connection, digest: str) -> None:
        """A policy version took effect on this partition."""
        self.policy_digest = digest
        conn.execute(
            text(
                "INSERT INTO haven_core.partition_policies (topic, partition, digest)"
                " VALUES (:t, :p, :d) ON CONFLICT (topic, partition) DO UPDATE SET digest = :d"
            ),
            {"t": self.topic, "p": self.partition, "d": digest},
        )


def directory_profile(conn: Connection, agency_id: str) -> AgencyProfile | None:
    """A registered agency's profile from ``haven_core.agencies`` (producer fallback)."""
    row = conn.execute(
        text("SELECT agency_type, jurisdiction FROM haven_core.agencies WHERE id = :i"),
        {"i": agency_id},
    ).first()
    return None if row is None else AgencyProfile(agency_id, row[0], row[1])
