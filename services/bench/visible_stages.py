"""Where the paced phase's publish-to-visible time goes, stage by stage.

Each paced event passes three stages, timed from what the pipeline records
anyway, so the worker measured runs unchanged:

- ``inbox_to_sealer``: from its send to the start of the sealer transaction
  that sealed it (``sealed_events.sealed_at``, Postgres's ``now()``): the
  broker taking it, the sealer's fetch and its wait for the batch before;
- ``sealer_to_log``: from there to its log record's timestamp (the relay's
  producer stamps it when it sends): sealing, the commit and the relay;
- ``log_to_visible``: from there to its ledger entry seen by the poller:
  the engine's fetch, deciding, writing and commit.

The clocks are Postgres's, the relay's and the bench's wall clocks, all of
one machine. The three stages' p50s need not add up to the whole p50.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from kafka import TopicPartition
from sqlalchemy import Engine, text

from infra.topics import read_until_quiet, reading_consumer
from services.bench.stats import percentile_ms

STAGES = ("inbox_to_sealer", "sealer_to_log", "log_to_visible")

_SEALED = text(
    "SELECT s.event_id, extract(epoch FROM s.sealed_at)::float8"
    " FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS w(source, event_id)"
    " JOIN haven_core.sealed_events AS s USING (source, event_id)"
)


def stage_figures(
    sent: Mapping[str, float],
    sealed: Mapping[str, float],
    logged: Mapping[str, float],
    visible: Mapping[str, float],
) -> dict[str, Any]:
    """p50 and p99 of each stage (ms) over the events timed at every point (wall-clock
    seconds by event id), and how many events that is."""
    timed = [e for e in sent if e in sealed and e in logged and e in visible]
    spans = {
        "inbox_to_sealer": [sealed[e] - sent[e] for e in timed],
        "sealer_to_log": [logged[e] - sealed[e] for e in timed],
        "log_to_visible": [visible[e] - logged[e] for e in timed],
    }
    figures: dict[str, Any] = {
        stage: {"p50": percentile_ms(spans[stage], 0.5), "p99": percentile_ms(spans[stage], 0.99)}
        for stage in STAGES
    }
    return figures | {"events": len(timed)}


def sealed_times(engine: Engine, refs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """When the sealer's transaction that sealed each ``(source, id)`` began, by id."""
    params = {"sources": [source for source, _ in refs], "ids": [i for _, i in refs]}
    with engine.connect() as conn:
        return {str(event_id): float(at) for event_id, at in conn.execute(_SEALED, params)}


def logged_times(
    bootstrap: str,
    topic: str,
    starts: Mapping[int, int],
    wanted: set[str],
    *,
    idle_s: float = 1.5,
    timeout_s: float = 30.0,
) -> dict[str, float]:
    """The log record timestamp of each wanted event id, reading each partition from
    ``starts`` until every one is found, nothing arrives for ``idle_s`` or ``timeout_s``
    passes (:func:`infra.topics.read_until_quiet`: the embedded broker's end offsets
    can lag, so they are not trusted)."""
    consumer = reading_consumer(bootstrap)
    found: dict[str, float] = {}
    try:
        consumer.assign([TopicPartition(topic, p) for p in starts])
        for partition, offset in starts.items():
            consumer.seek(TopicPartition(topic, partition), offset)
        records = read_until_quiet(
            consumer, idle_s=idle_s, timeout_s=timeout_s, done=lambda: len(found) >= len(wanted)
        )
        for record in records:
            value = orjson.loads(record.value or b"{}")
            event_id = value.get("id") if isinstance(value, dict) else None
            if event_id in wanted:
                found[event_id] = record.timestamp / 1e3
    except TimeoutError:
        pass  # the events not found are left out of the figures (``events`` counts)
    finally:
        consumer.close()
    return found


__all__ = ["STAGES", "logged_times", "sealed_times", "stage_figures"]
