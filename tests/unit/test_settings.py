"""Settings and the master key: fixed variable names, dev generation, prod refusal."""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from infra.secrets import MasterKeyError, load_master_key
from infra.settings import CommonSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HAVEN_", "KAFKA_", "DATABASE_")):
            monkeypatch.delenv(name)


def test_fixed_variable_names_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/haven")
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HAVEN_TOPIC_PREFIX", "acme")
    settings = CommonSettings()
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql+psycopg://u:p@db:5432/haven"
    assert settings.data_dir == tmp_path
    assert settings.topic_prefix == "acme"
    assert "u:p" not in repr(settings)


def test_bad_topic_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_TOPIC_PREFIX", "bad prefix!")
    with pytest.raises(ValueError, match="HAVEN_TOPIC_PREFIX"):
        CommonSettings()


def test_dev_mode_generates_a_0600_key_once(tmp_path: Path) -> None:
    settings = CommonSettings(data_dir=tmp_path)
    first = load_master_key(settings)
    key_file = tmp_path / "master.key"
    assert len(first) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_master_key(settings) == first


def test_production_refuses_a_missing_key(tmp_path: Path) -> None:
    settings = CommonSettings(data_dir=tmp_path, environment="production")
    with pytest.raises(MasterKeyError, match="HAVEN_MASTER_KEY"):
        load_master_key(settings)
    assert not (tmp_path / "master.key").exists()


def test_key_from_environment_must_be_32_bytes(tmp_path: Path) -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert load_master_key(CommonSettings(data_dir=tmp_path, master_key=good)) == bytes(range(32))
    short = base64.b64encode(b"short").decode()
    with pytest.raises(MasterKeyError, match="32 bytes") as caught:
        load_master_key(CommonSettings(data_dir=tmp_path, master_key=short))
    assert short not in str(caught.value)


def test_production_refuses_a_world_readable_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(base64.b64encode(bytes(32)).decode())
    key_file.chmod(0o644)
    settings = CommonSettings(data_dir=tmp_path, environment="production", master_key_file=key_file)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(settings)
    key_file.chmod(0o600)
    assert load_master_key(settings) == bytes(32)


def _racer(data_dir: str, start: object, results: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        key = load_master_key(CommonSettings(data_dir=Path(data_dir)))
        results.put(key.hex())  # type: ignore[attr-defined]
    except MasterKeyError as error:
        results.put(f"error: {error}")  # type: ignore[attr-defined]


def test_processes_starting_together_all_read_the_one_dev_key(tmp_path: Path) -> None:
    """The worker's children start at once on a fresh data dir: none may read the
    key file before it is whole (it was seen empty: "must decode to 32 bytes, got 0")."""
    context = multiprocessing.get_context("fork")
    for round_ in range(15):
        data_dir = tmp_path / str(round_)
        start, results = context.Barrier(6), context.Queue()
        racers = [
            context.Process(target=_racer, args=(str(data_dir), start, results)) for _ in range(6)
        ]
        for racer in racers:
            racer.start()
        keys = [results.get(timeout=30) for _ in racers]
        for racer in racers:
            racer.join(timeout=30)
        assert len(set(keys)) == 1, keys
        assert not keys[0].startswith("error"), keys[0]
        assert sorted(p.name for p in data_dir.iterdir()) == ["master.key"]
