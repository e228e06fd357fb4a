"""Fixtures shared by the integration tests of the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.endpoints import Endpoints
from tests.integration.api_rig import ApiStack, fresh_api_stack


@pytest.fixture(scope="module")
def stack(infra: Endpoints) -> Iterator[ApiStack]:
    """One API stack (own database, topic prefix and master key) per test module."""
    with fresh_api_stack(infra) as running:
        yield running
