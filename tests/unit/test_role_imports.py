"""A sealer process never imports the engine: the code a worker child loads for its role."""

from __future__ import annotations

import json
import subprocess
import sys

_LOADED = """
import json, sys
import services.cli.worker.role
print(json.dumps(sorted(m for m in sys.modules if m.startswith("projectors."))))
"""


def test_the_sealer_child_imports_neither_the_engine_core_nor_the_read_models() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded = set(json.loads(out))
    assert "projectors.sealer.compose" in loaded  # the sealer's composition is there
    assert "projectors.app" in loaded
    engine_side = {
        "projectors.bootstrap",
        "projectors.engine.core",
        "projectors.readmodels.registry",
        "projectors.scheduler",
    }
    assert not engine_side & loaded


def test_the_composition_root_offers_the_sealer_parts_defined_beside_the_sealer() -> None:
    from projectors import bootstrap
    from projectors.sealer import compose

    for name in compose.__all__:
        assert getattr(bootstrap, name) is getattr(compose, name), name
