"""Per-agency rate limit: a token bucket per agency, in this process.

``rate`` requests per second with bursts of ``burst``; over it, 429 with
``Retry-After`` (whole seconds).  The buckets live in the API process: with
N API processes behind a load balancer an agency gets up to N times the
rate (set the rate per process accordingly).  ``rate`` 0 turns it off.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, status

from events.errors import FieldError
from services.api.models import Problem


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets by agency id (thread-safe: dependencies run in a thread pool)."""

    rate: float = 0.0
    burst: int = 0
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def capacity(self) -> float:
        """The bucket size: ``burst``, or one second's worth when unset."""
        return float(self.burst or max(math.ceil(self.rate), 1))

    def wait_s(self, agency_id: str, now: float | None = None) -> float:
        """0 and one token taken if the agency may go on, else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.setdefault(agency_id, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def admit(self, agency_id: str) -> None:
        """Take one request from the agency's bucket, or raise 429 with ``Retry-After``."""
        wait = self.wait_s(agency_id)
        if wait > 0:
            problem = Problem.of(
                "rate_limited", (FieldError("", f"at most {self.rate:g} requests per second"),)
            )
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail=problem.model_dump(exclude_none=True),
                headers={"Retry-After": str(max(math.ceil(wait), 1))},
            )
