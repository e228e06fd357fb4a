"""What an accepted rectification leaves behind: its audit row and the holders' notices.

``haven_core.rectifications`` keeps who corrected which event, why, which
fields and the corrected values as the log holds them (personal ones sealed);
each agency that held the target gets a ``haven.rectification.notice.v1``
(ids and field names only) through the notice outbox.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from projectors.engine.batch import BatchScope
from projectors.engine.receipts import insert_notice
from projectors.log import LoggedEvent

NOTICE_TYPE = "haven.rectification.notice.v1"


def insert_rectification(
    scope: BatchScope,
    logged: LoggedEvent,
    target: LoggedEvent,
    bound: dict[str, Any],
    holders: list[str],
) -> None:
    """The audit row of an accepted rectification (``bound``: corrected values, sealed)."""
    data: Any = logged.event.data
    context = scope.context
    scope.conn.execute(
        text(
            "INSERT INTO haven_core.rectifications (topic, partition, log_offset,"
            " rectification_event_id, subject_id, target_event_id, target_offset, target_type,"
            " producer, reason, retract, field_names, corrected, agencies, rectified_at)"
            " VALUES (:t, :p, :o, :i, :s, :ti, :to, :ty, :pr, :r, :x, :f, CAST(:c AS jsonb),"
            " :a, :at) ON CONFLICT DO NOTHING"
        ),
        {
            "t": context.topic,
            "p": context.partition,
            "o": logged.offset,
            "i": logged.event.id,
            "s": logged.subject,
            "ti": target.event.id,
            "to": target.offset,
            "ty": target.event.type,
            "pr": logged.producer,
            "r": str(data.reason),
            "x": bool(data.retract),
            "f": sorted(bound),
            "c": json.dumps(bound),
            "a": holders,
            "at": logged.event.time,
        },
    )


def rectification_notice(
    scope: BatchScope, logged: LoggedEvent, target: LoggedEvent, agency_id: str, fields: list[str]
) -> None:
    """Tell one agency that held the target to correct or drop its own copies."""
    data: Any = logged.event.data
    payload: dict[str, object] = {
        "type": NOTICE_TYPE,
        "agency": agency_id,
        "subject": logged.subject,
        "rectification_event_id": logged.event.id,
        "target_event_id": target.event.id,
        "fields": fields,
        "reason": str(data.reason),
        "retract": bool(data.retract),
        "time": logged.event.time.isoformat(),
    }
    insert_notice(scope, logged, agency_id, payload)
