"""Dead letters counted by reason and agency, read from the DLQ topic (originals untouched)."""

from __future__ import annotations

import json
from collections import Counter

from events.topics import inbox_agency
from projectors.audit.archive import read_log

#: A page load reads the DLQ until it stays quiet this long.
IDLE_S = 0.5
TIMEOUT_S = 20.0


def dead_letter_counts(bootstrap: str, topic: str, prefix: str) -> Counter[tuple[str, str]]:
    """``(reason, agency) -> records`` over every DLQ record the broker holds (blocking).

    Only the ``reason`` and ``source_topic`` fields are read; the sealed
    ``original`` is never opened.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for records in read_log(bootstrap, topic, idle_s=IDLE_S, timeout_s=TIMEOUT_S).values():
        for record in records:
            try:
                body = json.loads(record.value)
                reason, source = str(body["reason"]), str(body["source_topic"])
            except (ValueError, KeyError, TypeError):
                counts["unreadable_record", "?"] += 1
                continue
            counts[reason, inbox_agency(prefix, source) or source] += 1
    return counts
