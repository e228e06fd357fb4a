"""Synthetic scenarios driven by the CTDC case records (demo, bench, tests)."""
