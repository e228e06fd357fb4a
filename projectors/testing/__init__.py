"""Test kits for projectors and the engine (for tests only, never for production code)."""

from projectors.testing.kit import ProjectorHarness, sample_data, sealed

__all__ = ["ProjectorHarness", "sample_data", "sealed"]
