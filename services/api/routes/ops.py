"""``/v1/health`` (no token) and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiokafka import TopicPartition
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import BaseModel

from events.topics import inbox_pattern, log_topic
from services.api.context import ApiContext
from services.api.deps import ContextDep
from services.api.observe import lag, parked_subjects, pipeline_counts, ready_workers

logger = logging.getLogger("haven.api")
router = APIRouter(tags=["operations"])
_TIMEOUT_S = 3.0


class Health(BaseModel):
    """Each part: ``ok`` or why not; ``down`` names the parts that are not ok."""

    status: str
    checks: dict[str, str]
    down: list[str] = []


async def _check_broker(context: ApiContext) -> str:
    await asyncio.wait_for(context.offsets.topics(), _TIMEOUT_S)
    return "ok"


async def _workers(context: ApiContext) -> int:
    return await asyncio.wait_for(run_in_threadpool(ready_workers, context.core), _TIMEOUT_S)


DEGRADED = "degraded"


async def _check_engine(context: ApiContext) -> str:
    topic = log_topic(context.topic_prefix)
    parked = await asyncio.wait_for(
        run_in_threadpool(parked_subjects, context.core, topic), _TIMEOUT_S
    )
    return "ok" if not parked else f"{DEGRADED}: {parked} subject(s) parked (haven engine parked)"


async def _probe(check: Callable[[ApiContext], Awaitable[str]], context: ApiContext) -> str:
    try:
        return await check(context)
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


#: The parts whose failure makes health 503 (a parked subject only degrades it).
_PARTS = ("broker", "database", "worker")


@router.get("/v1/health", response_model=Health, responses={503: {"model": Health}})
async def health(context: ContextDep) -> Any:
    """200 once broker, database and a worker are ready (``degraded`` while events are parked).

    Otherwise 503, naming each part that is down (``database``, ``broker``,
    ``worker``); it recovers by itself when the part is back.
    """
    checks: dict[str, str] = {}
    try:
        workers = await _workers(context)
        checks["database"] = "ok"
        checks["worker"] = "ok" if workers else "no ready worker"
    except Exception as exc:
        checks["database"] = f"unavailable ({type(exc).__name__})"
        checks["worker"] = "unknown (the database is down)"
    checks["broker"] = await _probe(_check_broker, context)
    checks["engine"] = (
        await _probe(_check_engine, context)
        if checks["database"] == "ok"
        else "unknown (the database is down)"
    )
    down = sorted(part for part in _PARTS if checks[part] != "ok")
    degraded = any(v.startswith(DEGRADED) for v in checks.values())
    status = "unavailable" if down else DEGRADED if degraded else "ready"
    body = Health(status="stopping" if context.draining else status, checks=checks, down=down)
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)


async def end_offsets(context: ApiContext) -> dict[tuple[str, int], int]:
    """Broker end offsets of the log and every inbox partition."""
    # A fresh cluster snapshot: the consumer's cached one misses topics created since start.
    described = await context.admin.describe_topics()
    inbox = re.compile(inbox_pattern(context.topic_prefix))
    log = log_topic(context.topic_prefix)
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if topic["topic"] == log or inbox.match(topic["topic"])
        for p in topic["partitions"]
    ]
    ends = await context.offsets.end_offsets(partitions)
    return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}


def _families(
    context: ApiContext, counts: dict[str, Any], ends: dict[tuple[str, int], int]
) -> Iterator[Metric]:
    yield CounterMetricFamily("haven_events_sealed", "Events sealed into the log", counts["sealed"])
    yield CounterMetricFamily(
        "haven_events_projected", "Log records applied by the engine", counts["projected"]
    )
    yield CounterMetricFamily("haven_erasures", "Erasing withdrawals applied", counts["erasures"])
    yield CounterMetricFamily(
        "haven_keys_destroyed", "Data keys destroyed", counts["keys_destroyed"]
    )
    yield GaugeMetricFamily(
        "haven_workers_ready", "Workers beating and ready", counts["workers_ready"]
    )
    yield GaugeMetricFamily(
        "haven_engine_parked_events", "Events parked by the engine", counts["parked_events"]
    )
    yield GaugeMetricFamily(
        "haven_engine_parked_subjects",
        "Subjects whose events are parked",
        counts["parked_subjects"],
    )
    rejected = CounterMetricFamily(
        "haven_events_rejected", "Inputs refused, by reason", labels=["stage", "reason"]
    )
    for stage, reason, value in counts["rejected"]:
        rejected.add_metric([stage, reason], value)
    yield rejected
    lag_family = GaugeMetricFamily(
        "haven_consumer_lag", "Records not yet processed", labels=["consumer", "topic", "partition"]
    )
    log = log_topic(context.topic_prefix)
    for consumer, topic_ends in (
        ("engine", {k: v for k, v in ends.items() if k[0] == log}),
        ("sealer", {k: v for k, v in ends.items() if k[0] != log}),
    ):
        for topic, partition, behind in lag(counts["positions"][consumer], topic_ends):
            lag_family.add_metric([consumer, topic, str(partition)], behind)
    yield lag_family


class _Snapshot:
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(context: ContextDep) -> Response:
    """Pipeline counters and consumer lag, for Prometheus."""
    counts = await run_in_threadpool(pipeline_counts, context.core, log_topic(context.topic_prefix))
    try:
        ends = await asyncio.wait_for(end_offsets(context), _TIMEOUT_S)
    except Exception:
        logger.warning("metrics: broker end offsets unavailable")
        ends = {}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(list(_families(context, counts, ends))))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")
