"""A new agency's first event: registered while the worker runs, visible how soon.

The agency is registered on the running pipeline (its inbox topic, rows and
schema, and its registration event in the log), then its first event is
sent at once; the figure is the time from the end of the registration to
the engine's transaction that applied the event (its subject state is
written with the event's read-model rows).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from services.bench.sealer_bench import preload, register_all
from services.bench.workload import Record
from services.scenarios.builders import cloudevent, identification
from services.scenarios.synthetic import first_cases

NEWCOMER = ("zz_newcomer", "ngo", "GR")
_SEEN = text("SELECT 1 FROM haven_core.subject_states WHERE subject_id = :s")


def new_agency_latency(
    engine: Engine, bootstrap: str, prefix: str, timeout_s: float = 60.0
) -> dict[str, Any]:
    """Register :data:`NEWCOMER`, send its first event; milliseconds until it is applied."""
    agency_id, _kind, country = NEWCOMER
    register_all(engine, bootstrap, prefix, [NEWCOMER])
    registered = time.perf_counter()
    subject = str(uuid.uuid4())
    data = identification(first_cases(1)[0], random.Random(1), datetime.now(UTC))
    event = cloudevent(
        agency=agency_id,
        jurisdiction=country,
        event_type="haven.victim.identified.v1",
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )
    asyncio.run(
        preload(
            bootstrap, prefix, [Record(agency_id, subject.encode(), json.dumps(event).encode())]
        )
    )
    while time.perf_counter() - registered < timeout_s:
        with engine.connect() as conn:
            if conn.execute(_SEEN, {"s": subject}).first() is not None:
                return {"new_agency_visible_ms": round((time.perf_counter() - registered) * 1e3, 1)}
        time.sleep(0.005)
    return {"new_agency_visible_ms": None}
