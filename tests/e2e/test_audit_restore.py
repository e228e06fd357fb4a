"""Stop/start with the embedded broker: the log comes back from the archive, offsets verified.

A scenario is applied by the engine core on three partitions (ledger and
archive written); then a brand-new Tansu broker (memory only, as after a
restart) gets the log back from the archive, the chains verify against it,
a replay of the restored log equals the live read models, and new events
continue the chains.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine, text

from events.topics import log_topic
from infra.db import sync_engine
from infra.embedded.broker import start_broker, wait_broker_ready
from infra.embedded.paths import InfraPaths
from infra.embedded.processes import free_port
from infra.endpoints import Endpoints
from infra.topics import core_topics, ensure_topics
from projectors.audit.archive import RestoreRefused, read_log, restore_log_from_archive
from projectors.log import LogRecord
from projectors.replay import replay_log
from projectors.testing.engine_rig import EngineRig
from services.audit.replay import run_replay
from services.audit.verify import verify
from services.scenarios.audit import build_scenario
from services.scenarios.builders import identification
from services.scenarios.synthetic import first_cases

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
PARTITIONS = 3


@pytest.fixture
def fresh_broker(embedded_data_dir: Path) -> Iterator[str]:
    """A new Tansu with empty memory storage, as after `haven up` restarts."""
    paths = InfraPaths.for_data_dir(embedded_data_dir)
    paths.ensure()
    port = free_port()
    proc: subprocess.Popen[bytes] = start_broker(paths, port, owned=True)
    try:
        wait_broker_ready(proc, port, paths, time.monotonic() + 30)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _split(log: list[bytes]) -> dict[int, list[LogRecord]]:
    """The rig's log spread over partitions as Haven does: by subject; system events to all."""
    parts: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    for value in log:
        subject = json.loads(value).get("subject")
        targets = range(PARTITIONS) if subject is None else [uuid.UUID(subject).int % PARTITIONS]
        for p in targets:
            parts[p].append(value)
    return {p: [LogRecord(o, v) for o, v in enumerate(vs)] for p, vs in parts.items()}


def _heads(engine: Engine) -> dict[int, tuple[int, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT partition, next_offset, head_hash FROM haven_core.audit_heads")
        )
        return {r[0]: (r[1], bytes(r[2])) for r in rows}


def test_the_log_is_restored_from_the_archive_and_the_chains_continue(
    engine: Engine,
    master_key: bytes,
    replay_database_url: str,
    fresh_broker: str,
    infra: Endpoints,
    topic_prefix: str,
) -> None:
    topic = log_topic(topic_prefix)
    rig = EngineRig(engine, master_key, topic=topic)
    build_scenario(rig, first_cases(300), 300, apply=False)
    live = _split(rig.log)
    replay_log(engine, topic, live)  # the live engine's work: read models, ledger, archive
    heads = _heads(engine)
    assert {p: n for p, (n, _) in heads.items()} == {p: len(rs) for p, rs in live.items()}

    ensure_topics(fresh_broker, core_topics(topic_prefix, PARTITIONS))
    report = restore_log_from_archive(engine, fresh_broker, topic)
    assert report.restored == {p: len(rs) for p, rs in live.items()}
    restored = read_log(fresh_broker, topic)
    assert restored == live, "same offsets, same bytes"
    again = restore_log_from_archive(engine, fresh_broker, topic)
    assert again.restored == {}
    assert again.already_present == report.restored
    assert verify(engine, log={(topic, p): rs for p, rs in restored.items()}).ok

    scratch = sync_engine(replay_database_url)
    replayed = run_replay(engine, scratch, topic, restored, source="log")
    assert replayed.ok, [d.to_json() for d in replayed.differences]
    scratch.dispose()

    subject = str(uuid.uuid4())
    case = first_cases(1)[0]
    rig.log.clear()
    data = identification(case, random.Random(1))
    rig.publish("gr_coord", "haven.victim.identified.v1", data, subject=subject)
    producer = KafkaProducer(bootstrap_servers=fresh_broker, acks="all")
    producer.send(topic, value=rig.log[0], key=subject.encode()).get(timeout=30)
    producer.close()
    after = read_log(fresh_broker, topic)
    [grown] = [p for p in after if len(after[p]) > len(live[p])]
    new = after[grown][len(live[grown]) :]
    assert [r.offset for r in new] == [len(live[grown])], "the broker continues the offsets"
    rig.core.apply_batch(topic, grown, heads[grown][0], new)
    with engine.connect() as conn:
        link = conn.execute(
            text(
                "SELECT prev_hash FROM haven_core.audit_ledger"
                " WHERE topic = :t AND partition = :p AND log_offset = :o"
            ),
            {"t": topic, "p": grown, "o": new[0].offset},
        ).scalar()
    assert link is not None  # bytea NOT NULL, and the entry was just applied
    assert bytes(link) == heads[grown][1], "the new entry chains onto the old head"
    final = verify(engine, log={(topic, p): rs for p, rs in after.items()})
    assert final.ok
    assert final.entries == sum(len(rs) for rs in after.values())

    ensure_topics(infra.bootstrap_servers, core_topics(topic_prefix, PARTITIONS))
    foreign = KafkaProducer(bootstrap_servers=infra.bootstrap_servers, acks="all")
    foreign.send(topic, value=b'{"not": "archived"}', partition=1).get(timeout=30)
    foreign.close()
    with pytest.raises(RestoreRefused, match=r"\[1\] is not empty and differs"):
        restore_log_from_archive(engine, infra.bootstrap_servers, topic)
