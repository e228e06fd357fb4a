"""An engine process loads its policy file once, however many shares it runs (a load
parses and checks the YAML: 30-60 ms of its start-up), and every share decides by it."""

from __future__ import annotations

from typing import Any, cast

import pytest

import projectors.bootstrap as bootstrap
from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from projectors.engine.service import EngineService
from projectors.engine.share import all_shares
from projectors.policy.loader import default_policy_path, load_policy
from projectors.policy.model import Policy
from projectors.runtime.together import Together

ENDPOINTS = Endpoints("127.0.0.1:1", "postgresql+psycopg://u:p@127.0.0.1:1/haven", embedded=False)


def test_shares_of_one_process_share_one_policy_load(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[Policy] = []

    def counting(*args: Any, **kwargs: Any) -> Policy:
        loaded.append(load_policy(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(bootstrap, "load_policy", counting)
    settings = WorkerSettings()
    loops = dict(bootstrap.worker_engine_loops(settings, ENDPOINTS, bytes(32), all_shares(2)))
    assert len(loaded) == 1
    together = loops["engine"]
    assert isinstance(together, Together)
    engines = [cast(EngineService, loop) for loop in together.loops]
    assert {id(engine.core.policies.default) for engine in engines} == {id(loaded[0])}

    given = load_policy(default_policy_path())
    loops = dict(bootstrap.worker_engine_loops(settings, ENDPOINTS, bytes(32), (), given))
    assert len(loaded) == 1  # the caller's policy: no load here
