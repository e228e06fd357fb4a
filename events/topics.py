"""Kafka topic names (docs/architecture.md, Topics): ``<prefix>.inbox.<agency>.v1`` and friends."""

from __future__ import annotations

import re
from functools import lru_cache

from events.types.common import AGENCY_ID_PATTERN

_AGENCY = re.compile(AGENCY_ID_PATTERN)


def _agency(agency_id: str) -> str:
    if not _AGENCY.fullmatch(agency_id):
        raise ValueError("agency ids match ^[a-z][a-z0-9_]{1,39}$")
    return agency_id


def inbox_topic(prefix: str, agency_id: str) -> str:
    """Raw events of one agency: ``<prefix>.inbox.<agency_id>.v1``."""
    return f"{prefix}.inbox.{_agency(agency_id)}.v1"


def log_topic(prefix: str) -> str:
    """The canonical sealed log: ``<prefix>.log.v1``."""
    return f"{prefix}.log.v1"


def dlq_topic(prefix: str) -> str:
    """Rejected input with its reason: ``<prefix>.dlq.v1``."""
    return f"{prefix}.dlq.v1"


def notices_topic(prefix: str, agency_id: str) -> str:
    """Erasure notices for one agency: ``<prefix>.notices.<agency_id>.v1``."""
    return f"{prefix}.notices.{_agency(agency_id)}.v1"


def inbox_pattern(prefix: str) -> str:
    """Regex matching every inbox topic (for pattern subscriptions)."""
    return rf"^{re.escape(prefix)}\.inbox\.({AGENCY_ID_PATTERN[1:-1]})\.v1$"


@lru_cache(maxsize=4096)
def inbox_agency(prefix: str, topic: str) -> str | None:
    """The agency whose inbox ``topic`` is, or None when it is not an inbox.

    Remembered (a few thousand topics at most): the sealer asks once per record.
    """
    match = re.fullmatch(inbox_pattern(prefix), topic)
    return match.group(1) if match else None
