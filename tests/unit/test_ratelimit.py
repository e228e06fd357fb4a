"""The per-agency token bucket."""

from __future__ import annotations

from typing import Any, cast

import pytest
from fastapi import HTTPException

from services.api.edge.ratelimit import RateLimiter


def test_bursts_then_refills_at_the_rate_per_agency() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.wait_s("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_s("a", now=0.0) == pytest.approx(0.5)
    assert limiter.wait_s("b", now=0.0) == 0.0, "another agency has its own bucket"
    assert limiter.wait_s("a", now=0.5) == 0.0
    assert limiter.wait_s("a", now=0.5) == pytest.approx(0.5)
    assert [limiter.wait_s("a", now=100.0) for _ in range(4)][-1] > 0, "refill caps at burst"


def test_off_by_default_and_429_names_retry_after() -> None:
    assert all(RateLimiter().wait_s("a", now=0.0) == 0.0 for _ in range(1000))
    limiter = RateLimiter(rate=0.2, burst=1)
    limiter.admit("a")
    with pytest.raises(HTTPException) as caught:
        limiter.admit("a")
    assert caught.value.status_code == 429
    assert caught.value.headers == {"Retry-After": "5"}
    # Starlette types ``detail`` as str; the limiter's is a Problem's dict.
    assert cast(dict[str, Any], caught.value.detail)["reason"] == "rate_limited"
