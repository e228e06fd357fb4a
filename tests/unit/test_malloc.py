"""The worker's allocator settings take on glibc (what the Linux machines run)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tune_malloc_takes_on_glibc() -> None:
    probe = "from infra.malloc import tune_malloc; print(tune_malloc())"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "True"
