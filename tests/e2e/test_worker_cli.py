"""The CLI as an operator uses it: agency add, worker, publish, and the sealed log."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.endpoints import Endpoints
from infra.settings import WorkerSettings
from services.bench.worker_proc import command_words
from services.scenarios.builders import cloudevent, identification
from services.scenarios.synthetic import first_cases

pytestmark = pytest.mark.e2e

HAVEN = Path(sys.executable).parent / "haven"
NAME = "Oleksandra Brightwater"


@pytest.fixture
def cli_env(
    infra: Endpoints, database_url: str, topic_prefix: str, embedded_data_dir: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap_servers,
        DATABASE_URL=database_url,
        HAVEN_TOPIC_PREFIX=topic_prefix,
        HAVEN_DATA_DIR=str(embedded_data_dir),
        HAVEN_PARTITIONS="2",
        HAVEN_SESSION_TIMEOUT_S="6",
    )
    return env


def haven(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def worker(cli_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    haven(cli_env, "agency", "add", "--id", "gr_ngo", "--type", "ngo", "--jurisdiction", "GR")
    process = subprocess.Popen(
        [str(HAVEN), "worker"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)


def _jsonl(path: Path, agency: str, jurisdiction: str, count: int) -> list[str]:
    rng = random.Random(agency)
    events = []
    for case in first_cases(count):
        data = identification(case, rng)
        data["personal"]["full_name"] = NAME
        events.append(
            cloudevent(
                agency=agency,
                jurisdiction=jurisdiction,
                event_type="haven.victim.identified.v1",
                subject=str(uuid.uuid4()),
                time=datetime.now(UTC),
                data=data,
            )
        )
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + '{"not": "an event"}\n')
    return [e["id"] for e in events]


def _log(bootstrap: str, topic: str, want: set[str], timeout_s: float = 60) -> dict[str, bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    consumer.seek_to_beginning()
    found: dict[str, bytes] = {}
    deadline = time.monotonic() + timeout_s
    while not want <= set(found) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                found[json.loads(record.value)["id"]] = record.value
    consumer.close()
    return found


def test_agency_add_validates_and_shows_the_token_once(cli_env: dict[str, str]) -> None:
    spy = haven(cli_env, "agency", "add", "--id", "x_bad", "--type", "spy", "--jurisdiction", "GR")
    assert spy.returncode == 2, "--type is a choice list"
    assert "--type" in spy.stderr
    bad = haven(cli_env, "agency", "add", "--id", "X-bad", "--type", "ngo", "--jurisdiction", "QQ")
    assert bad.returncode == 2
    assert "--id: must match the pattern ^[a-z][a-z0-9_]{1,39}$" in bad.stderr
    assert "--jurisdiction" in bad.stderr
    ok = haven(cli_env, "agency", "add", "--id", "gr_ngo", "--type", "ngo", "--jurisdiction", "gr")
    assert ok.returncode == 0, ok.stderr
    shown = json.loads(ok.stdout)
    assert shown["id"] == "gr_ngo"
    assert shown["token"].startswith("hvn_")
    listed = haven(cli_env, "agency", "list", "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["gr_ngo"]
    assert shown["token"] not in listed.stdout
    again = haven(
        cli_env, "agency", "add", "--id", "gr_ngo", "--type", "ngo", "--jurisdiction", "GR"
    )
    assert again.returncode == 1
    assert "already registered" in again.stderr


def test_worker_seals_published_events_and_picks_up_new_agencies(
    cli_env: dict[str, str], worker: subprocess.Popen[str], tmp_path: Path
) -> None:
    added = haven(
        cli_env, "agency", "add", "--id", "pt_legal", "--type", "legal_aid", "--jurisdiction", "PT"
    )
    assert added.returncode == 0, added.stderr
    ids = _jsonl(tmp_path / "gr.jsonl", "gr_ngo", "GR", 5)
    ids += _jsonl(tmp_path / "pt.jsonl", "pt_legal", "PT", 3)
    for agency in ("gr", "pt"):
        sent = haven(
            cli_env,
            "publish",
            str(tmp_path / f"{agency}.jsonl"),
            "--agency",
            f"{agency}_ngo" if agency == "gr" else "pt_legal",
        )
        verdicts = [json.loads(line) for line in sent.stdout.splitlines()]
        assert sent.returncode == 1  # the last line of each file is not an event
        assert [v["status"] for v in verdicts][-1] == "rejected"
        assert NAME not in sent.stdout + sent.stderr
    log = _log(
        cli_env["KAFKA_BOOTSTRAP_SERVERS"], f"{cli_env['HAVEN_TOPIC_PREFIX']}.log.v1", set(ids)
    )
    assert set(ids) <= set(log)
    assert all(NAME.encode() not in log[i] for i in ids)

    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output[-2000:]
    assert NAME not in output


def test_killed_worker_loses_nothing_after_restart(
    cli_env: dict[str, str], worker: subprocess.Popen[str], tmp_path: Path
) -> None:
    ids = _jsonl(tmp_path / "gr.jsonl", "gr_ngo", "GR", 400)
    sent = haven(cli_env, "publish", str(tmp_path / "gr.jsonl"), "--agency", "gr_ngo")
    assert sent.stdout.count('"sent"') == 400
    log_topic = f"{cli_env['HAVEN_TOPIC_PREFIX']}.log.v1"
    _log(cli_env["KAFKA_BOOTSTRAP_SERVERS"], log_topic, set(ids[:1]))  # sealing has begun
    worker.kill()  # SIGKILL: no clean shutdown, maybe mid-batch
    worker.wait(10)
    restarted = subprocess.Popen(
        [str(HAVEN), "worker"], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        log = _log(cli_env["KAFKA_BOOTSTRAP_SERVERS"], log_topic, set(ids), timeout_s=90)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(60)
    assert set(ids) <= set(log)


def _role_children(supervisor: subprocess.Popen[str], role: str) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(supervisor.pid).children()
        if f"--role {role}" in " ".join(command_words(child))
    ]


def test_sigkilled_sealer_child_is_restarted_and_loses_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    haven(cli_env, "agency", "add", "--id", "gr_ngo", "--type", "ngo", "--jurisdiction", "GR")
    ids = _jsonl(tmp_path / "gr.jsonl", "gr_ngo", "GR", 3000)
    env = cli_env | {"HAVEN_SEALER_BATCH_MAX": "50"}  # many batches: the kill lands mid-stream
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as output:
        supervisor = subprocess.Popen(
            [str(HAVEN), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
    try:
        publishing = subprocess.Popen(
            [str(HAVEN), "publish", str(tmp_path / "gr.jsonl"), "--agency", "gr_ngo"],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        log_topic = f"{cli_env['HAVEN_TOPIC_PREFIX']}.log.v1"
        _log(cli_env["KAFKA_BOOTSTRAP_SERVERS"], log_topic, set(ids[:1]))  # sealing has begun
        (sealer,) = _role_children(supervisor, "sealer")
        engines = [p.pid for p in _role_children(supervisor, "engine")]  # one per share
        assert engines
        sealer.send_signal(signal.SIGKILL)  # mid-stream: the publisher is still sending
        sealer.wait(10)
        sent, _ = publishing.communicate(timeout=120)
        assert sent.count('"sent"') == 3000  # every event acknowledged by the inbox
        log = _log(cli_env["KAFKA_BOOTSTRAP_SERVERS"], log_topic, set(ids), timeout_s=120)
        assert set(ids) <= set(log), f"{len(set(ids) - set(log))} accepted events lost"
        (restarted,) = _role_children(supervisor, "sealer")
        assert restarted.pid != sealer.pid
        assert [p.pid for p in _role_children(supervisor, "engine")] == engines
        deadline = time.monotonic() + 120
        while worker_log.read_text().count("sealer partitions assigned") < 2:
            assert time.monotonic() < deadline, "the restarted sealer never joined"
            time.sleep(0.5)
        assert supervisor.poll() is None
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(90) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait(10)
    output_text = worker_log.read_text()
    assert "worker child died: restarting" in output_text
    assert "did not drain in time" not in output_text
    assert NAME not in output_text


def _from_word(args: list[str], word: str) -> list[str]:
    """``args`` from ``word`` on (all of them while a forked child has its parent's)."""
    return args[args.index(word) :] if word in args else args


def _mapped(process: psutil.Process) -> str:
    return " ".join(region.path for region in process.memory_maps())


def test_the_children_are_forked_from_the_supervisor_and_named_by_role(
    worker: subprocess.Popen[str],
) -> None:
    """The supervisor imports the stream processors once (the database driver, the
    sealing library, the settings model's validator are mapped in it) and forks each
    role's child from it; each child shows the command line of its role in ``ps``."""
    libraries = ("psycopg_binary", "cryptography", "pydantic_core")
    supervisor = psutil.Process(worker.pid)
    engines = WorkerSettings(HAVEN_PARTITIONS=2).engine_process_count()  # the default layout
    deadline = time.monotonic() + 120
    while True:
        children = supervisor.children()
        roles = sorted(_from_word(command_words(child), "worker") for child in children)
        if len(children) == 1 + engines and all(
            lib in _mapped(child) for child in children for lib in libraries
        ):
            break
        assert time.monotonic() < deadline, f"the children never started: {roles}"
        time.sleep(0.5)
    assert [lib for lib in libraries if lib not in _mapped(supervisor)] == []
    shares = [["--share", f"{n}/{engines}"] for n in range(engines)] if engines > 1 else [[]]
    assert roles == [
        *(["worker", "--role", "engine", *share] for share in shares),
        ["worker", "--role", "sealer"],
    ]
    assert all(child.exe() == supervisor.exe() for child in children)
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output[-2000:]
