"""HTTP load for the API bench: batched ``POST /v1/events`` and concurrent subject reads.

Real HTTP over TCP: posts with ``httpx.AsyncClient``, reads with the
lighter keep-alive client of :mod:`services.bench.api.http1` (httpx cost
about 1.1 ms of CPU per read on the cores the API shares).  Every figure
is wall-clock time seen by the client, so it includes the client's own
work on a shared machine.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import httpx
from rich.progress import Progress

from services.bench.api.http1 import Http1Client
from services.bench.workload import Record

BATCH_TYPE = "application/cloudevents-batch+json"
_LAG = re.compile(r"^haven_consumer_lag\{.*\} (\S+)$", re.MULTILINE)
_TIMEOUT = httpx.Timeout(60.0)


Batch = tuple[str, int, bytes]  # agency, events, JSON array body


def batches(records: Sequence[Record], size: int) -> dict[str, list[Batch]]:
    """Per agency, its records in order as batch bodies of up to ``size`` events."""
    by_agency: dict[str, list[bytes]] = defaultdict(list)
    for record in records:
        by_agency[record.agency].append(record.value)
    return {
        agency: [
            (agency, len(chunk), b"[" + b",".join(chunk) + b"]")
            for chunk in (values[i : i + size] for i in range(0, len(values), size))
        ]
        for agency, values in by_agency.items()
    }


async def _post_lane(
    base_url: str, lane: list[Batch], tokens: dict[str, str], progress: Progress
) -> int:
    """One client posting its batches in order (an agency's batches stay on one lane)."""
    task = progress.task_ids[-1]
    accepted = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=_TIMEOUT) as client:
        for agency, _, body in lane:
            headers = {"Authorization": f"Bearer {tokens[agency]}", "Content-Type": BATCH_TYPE}
            response = await client.post("/v1/events", content=body, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"POST /v1/events: {response.status_code} {response.text[:300]}")
            count = len(response.json()["accepted"])
            accepted += count
            progress.advance(task, count)
    return accepted


async def post_all(
    base_url: str,
    bodies: dict[str, list[Batch]],
    tokens: dict[str, str],
    clients: int,
    progress: Progress,
) -> tuple[int, float]:
    """Accepted events and seconds for every batch, ``clients`` lanes in parallel."""
    lanes: list[list[Batch]] = [[] for _ in range(min(clients, len(bodies)))]
    for n, (_, agency_batches) in enumerate(sorted(bodies.items())):
        lanes[n % len(lanes)].extend(agency_batches)
    progress.add_task("POST /v1/events", total=sum(b[1] for lane in lanes for b in lane))
    started = time.perf_counter()
    counts = await asyncio.gather(*(_post_lane(base_url, lane, tokens, progress) for lane in lanes))
    return sum(counts), time.perf_counter() - started


async def wait_drained(base_url: str, progress: Progress, timeout_s: float = 1800.0) -> None:
    """Until ``/metrics`` reports no consumer lag (sealer and engine caught up)."""
    task = progress.add_task("sealing + projecting (lag)", total=None)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, timeout=_TIMEOUT) as client:
        while time.monotonic() < deadline:
            text = (await client.get("/metrics")).text
            lag = sum(float(value) for value in _LAG.findall(text))
            progress.update(task, description=f"sealing + projecting (lag {lag:.0f})")
            if _LAG.search(text) and lag == 0:
                progress.update(task, total=1, completed=1)
                return
            await asyncio.sleep(1.0)
    raise TimeoutError("the pipeline did not drain in time")


async def _read_lane(
    base_url: str,
    targets: list[tuple[str, str]],
    tokens: dict[str, str],
    progress: Progress,
    due: list[float] | None = None,
) -> tuple[list[float], float]:
    """One client reading its subjects one after another: seconds per read, and the
    ``perf_counter`` time its last answer arrived.

    Without ``due`` each read is sent when the previous one is answered and
    its latency runs from writing the request to the last byte of the
    response.  With ``due`` (a ``perf_counter`` time per read) a read waits
    for its time and its latency runs from that time, so a read sent late
    because the one before it was slow counts the wait too.  Every response
    must be a 200 whose body names the subject.
    """
    task = progress.task_ids[-1]
    latencies = []
    answered = time.perf_counter()
    client = Http1Client(base_url)
    try:
        for n, (agency, subject) in enumerate(targets):
            headers = {"Authorization": f"Bearer {tokens[agency]}"}
            started = time.perf_counter()
            if due is not None:
                await asyncio.sleep(max(0.0, due[n] - started))
                started = due[n]
            status, body = await client.get(f"/v1/subjects/{subject}", headers)
            answered = time.perf_counter()
            latencies.append(answered - started)
            if status != 200 or subject.encode() not in body:
                raise RuntimeError(f"GET subject: {status} {body[:300]!r}")
            progress.advance(task)
    finally:
        await client.close()
    return latencies, answered


class Reads(NamedTuple):
    """What a read phase measured: every latency, sorted, and the phase's seconds."""

    latencies: list[float]
    seconds: float

    def per_s(self) -> int:
        """Reads answered per second over the phase."""
        return round(len(self.latencies) / self.seconds)


async def read_all(
    base_url: str,
    pairs: list[tuple[str, str]],
    tokens: dict[str, str],
    clients: int,
    reads: int,
    progress: Progress,
    per_s: float | None = None,
) -> Reads:
    """``reads`` subject reads by ``clients`` concurrent clients.

    Without ``per_s`` each client reads as fast as it is answered (closed
    loop); with it the reads are offered at ``per_s`` in all (read ``k`` is
    due ``k / per_s`` seconds after the start) and each latency runs from the
    read's due time.  The phase's seconds run from the start (the first
    read's due time) to the last answer: the clients' set-up before it is
    not counted as time the API served reads in.
    """
    rng = random.Random(7)
    targets = [rng.choice(pairs) for _ in range(reads)]
    rate = "" if per_s is None else f" at {per_s:.0f}/s"
    progress.add_task(f"GET /v1/subjects/{{id}}{rate}", total=reads)
    start = time.perf_counter() + (0.0 if per_s is None else 0.05)  # paced: time to connect
    due = None if per_s is None else [start + k / per_s for k in range(reads)]
    results = await asyncio.gather(
        *(
            _read_lane(base_url, targets[n::clients], tokens, progress, due and due[n::clients])
            for n in range(clients)
        )
    )
    latencies = sorted(latency for lane, _ in results for latency in lane)
    return Reads(latencies, max(answered for _, answered in results) - start)
