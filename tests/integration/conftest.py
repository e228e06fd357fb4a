"""Fixtures shared by integration tests: the HTTP API stack, a sealer with one agency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from infra.endpoints import Endpoints
from tests.integration.api_rig import ApiStack, fresh_api_stack
from tests.integration.harness import SealerHarness, running_harness


@pytest.fixture(scope="module")
def stack(infra: Endpoints) -> Iterator[ApiStack]:
    """One API stack (own database, topic prefix and master key) per test module."""
    with fresh_api_stack(infra) as running:
        yield running


@pytest.fixture
def harness(
    infra: Endpoints, engine: Engine, master_key: bytes, topic_prefix: str
) -> Iterator[SealerHarness]:
    """A running sealer with one agency, ``gr_ngo`` (test modules may override it)."""
    with running_harness(
        infra.bootstrap_servers, topic_prefix, engine, master_key, ("gr_ngo", "ngo", "GR")
    ) as running:
        yield running
