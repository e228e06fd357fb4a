"""The audit ledger on a real Postgres: written by the engine, every tampering found exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import Connection, Engine, text

from projectors.audit.ledger import chain_hash
from projectors.log import LogRecord
from projectors.testing.engine_rig import EngineRig
from services.audit.chain import Finding, LedgerRow
from services.audit.trail import subject_trail
from services.audit.verify import verify
from services.scenarios import ctdc
from services.scenarios.audit import build_scenario
from services.scenarios.synthetic import first_cases

K = 40  # the tampered position
COLUMNS = (
    "log_offset, event_id, source, event_type, producer, subject_id, jurisdiction, event_time,"
    " recipients, outcome, record_sha256, prev_hash, entry_hash"
)


@pytest.fixture
def rig(engine: Engine, master_key: bytes) -> EngineRig:
    rig = EngineRig(engine, master_key)
    build_scenario(rig, first_cases(200), 160, seed=3, run_every=50)
    return rig


def _row(conn: Connection, rig: EngineRig, offset: int) -> LedgerRow:
    found = conn.execute(
        text(f"SELECT {COLUMNS} FROM haven_core.audit_ledger WHERE log_offset = :o"),
        {"o": offset},
    ).one()
    return LedgerRow.from_db(rig.topic, 0, tuple(found))


def _move(conn: Connection, offsets: dict[int, int]) -> None:
    """Renumber ledger rows (through negative offsets: the key is unique)."""
    for old in offsets:
        conn.execute(
            text(
                "UPDATE haven_core.audit_ledger SET log_offset = -1 - log_offset"
                " WHERE log_offset = :o"
            ),
            {"o": old},
        )
    for old, new in offsets.items():
        conn.execute(
            text("UPDATE haven_core.audit_ledger SET log_offset = :n WHERE log_offset = :o"),
            {"o": -1 - old, "n": new},
        )


def _forge(conn: Connection, rig: EngineRig, offset: int, after: int) -> None:
    """A well-chained forged entry at ``offset``, linked to the entry at ``after``."""
    model = _row(conn, rig, after)
    entry = replace(model.entry, offset=offset, event_id="forged", recipients=("it_police",))
    digest = chain_hash(model.entry_hash, entry)
    conn.execute(
        text(
            "INSERT INTO haven_core.audit_ledger (topic, partition, log_offset, event_id, source,"
            " event_type, producer, subject_id, jurisdiction, event_time, recipients, outcome,"
            " record_sha256, prev_hash, entry_hash) SELECT topic, partition, :o, 'forged', source,"
            " event_type, producer, subject_id, jurisdiction, event_time, ARRAY['it_police'],"
            " outcome, record_sha256, :p, :h FROM haven_core.audit_ledger WHERE log_offset = :a"
        ),
        {"o": offset, "a": after, "p": model.entry_hash, "h": digest},
    )


def change(conn: Connection, rig: EngineRig) -> None:
    conn.execute(
        text(
            "UPDATE haven_core.audit_ledger SET recipients = array_append(recipients, 'gr_legal')"
            " WHERE log_offset = :k"
        ),
        {"k": K},
    )


def change_and_rehash(conn: Connection, rig: EngineRig) -> None:
    row = _row(conn, rig, K)
    entry = replace(row.entry, producer="gr_court")
    conn.execute(
        text(
            "UPDATE haven_core.audit_ledger SET producer = 'gr_court', entry_hash = :h"
            " WHERE log_offset = :k"
        ),
        {"k": K, "h": chain_hash(row.prev_hash, entry)},
    )


def delete(conn: Connection, rig: EngineRig) -> None:
    conn.execute(text("DELETE FROM haven_core.audit_ledger WHERE log_offset = :k"), {"k": K})


def delete_with_archive(conn: Connection, rig: EngineRig) -> None:
    delete(conn, rig)
    conn.execute(text("DELETE FROM haven_core.log_archive WHERE log_offset = :k"), {"k": K})


def insert_at_tail(conn: Connection, rig: EngineRig) -> None:
    _forge(conn, rig, len(rig.log), len(rig.log) - 1)


def insert_shifting(conn: Connection, rig: EngineRig) -> None:
    tail = len(rig.log)
    _move(conn, {o: o + 1 for o in range(tail - 1, K - 1, -1)})
    _forge(conn, rig, K, K - 1)


def swap(conn: Connection, rig: EngineRig) -> None:
    _move(conn, {K: K + 1, K + 1: K})


def archive_change(conn: Connection, rig: EngineRig) -> None:
    conn.execute(
        text(
            "UPDATE haven_core.log_archive SET record_value = record_value || ' '"
            " WHERE log_offset = :k"
        ),
        {"k": K},
    )


TAMPERING: list[tuple[Callable[[Connection, EngineRig], None], str, int | None]] = [
    (change, "modified", K),
    (change_and_rehash, "modified", K),
    (delete, "missing", K),
    (delete_with_archive, "missing", K),
    (insert_at_tail, "inserted", None),
    (insert_shifting, "inserted", K),
    (swap, "reordered", K),
    (archive_change, "archive_modified", K),
]


def test_the_engine_writes_one_chained_entry_per_record_and_it_verifies(rig: EngineRig) -> None:
    report = verify(rig.engine, log={(rig.topic, 0): _log(rig)})
    assert report.ok, [p.findings for p in report.partitions]
    assert report.entries == len(rig.log)
    with rig.engine.connect() as conn:
        outcomes: dict[str, int] = dict(
            conn.execute(
                text("SELECT outcome, count(*) FROM haven_core.audit_ledger GROUP BY 1")
            ).all()
        )
        archived = conn.execute(text("SELECT count(*) FROM haven_core.log_archive")).scalar()
        identified = conn.execute(
            text(
                "SELECT subject_id, producer, recipients FROM haven_core.audit_ledger"
                " WHERE event_type = 'haven.victim.identified.v1' AND outcome = 'applied'"
            )
        ).all()
        stored = conn.execute(text("SELECT topic, next_offset FROM haven_core.audit_heads")).one()
    assert archived == len(rig.log)
    assert tuple(stored) == (rig.topic, len(rig.log))
    assert outcomes["applied"] > 100
    assert outcomes["refused"] > 0
    for subject, producer, recipients in identified:
        assert producer in recipients  # rule 1
        holders = {
            a
            for a in recipients
            if any(r["subject_id"] == subject for r in rig.rows(a, "timeline"))
        }
        assert holders <= set(recipients)


@pytest.mark.parametrize(
    ("tamper", "kind", "offset"), TAMPERING, ids=lambda v: getattr(v, "__name__", None)
)
def test_verify_finds_each_tampering_at_its_position(
    rig: EngineRig, tamper: Callable[[Connection, EngineRig], None], kind: str, offset: int | None
) -> None:
    with rig.engine.begin() as conn:
        tamper(conn, rig)
    report = verify(rig.engine)
    [partition] = report.partitions
    assert not report.ok
    expected = len(rig.log) if offset is None else offset
    assert partition.findings[0] == Finding(
        rig.topic, 0, expected, kind, partition.findings[0].detail
    ), partition.findings


def test_verify_compares_the_log_with_the_ledger(rig: EngineRig) -> None:
    log = _log(rig)
    log[K] = LogRecord(K, log[K].value.replace(b'"data"', b'"data" '))
    [partition] = verify(rig.engine, log={(rig.topic, 0): log}).partitions
    assert [(f.kind, f.offset) for f in partition.findings] == [("log_modified", K)]
    [partition] = verify(rig.engine, log={(rig.topic, 0): _log(rig)[:K]}).partitions
    assert [(f.kind, f.offset) for f in partition.findings] == [("log_missing", K)]


def test_trail_lists_recipients_and_receipts_without_personal_values(rig: EngineRig) -> None:
    with rig.engine.connect() as conn:
        subject = conn.execute(
            text(
                "SELECT subject_id FROM haven_core.erasure_receipts"
                " WHERE key_action IN ('destroyed', 'scheduled') LIMIT 1"
            )
        ).scalar()
        assert subject is not None, "the scenario erased someone"
        trail = subject_trail(conn, subject)
    assert trail["events"][0]["event_type"] == "haven.victim.identified.v1"
    assert trail["recipients"]
    assert set(trail["recipients"]) <= {
        "gr_ngo",
        "gr_coord",
        "it_police",
        "gr_cp",
        "gr_court",
        "it_shelter",
        "ro_health",
        "gr_legal",
    }
    assert {r["key_action"] for r in trail["erasure_receipts"]} & {"destroyed", "scheduled"}
    assert trail["reads"] is None or isinstance(trail["reads"], list)
    as_text = json.dumps(trail)
    personal = [*ctdc._GIVEN, *ctdc._FAMILY, "Safe house", "Respondent", "Assessment note"]
    personal += ["full_name", "date_of_birth", "sealed", "location", '"ct"']
    assert not [value for value in personal if value in as_text]


def _log(rig: EngineRig) -> list[LogRecord]:
    return [LogRecord(offset, value) for offset, value in enumerate(rig.log)]
