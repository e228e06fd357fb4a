"""The bench's drain count: judged agency events, counted from the chain heads seen last."""

from __future__ import annotations

from sqlalchemy import Engine, text

from services.bench.stats import SYSTEM_SOURCE, LedgerEvents

_ENTRIES = text(
    "INSERT INTO haven_core.audit_ledger (topic, partition, log_offset, event_id, source,"
    " event_type, producer, subject_id, event_time, recipients, outcome, record_sha256,"
    " prev_hash, entry_hash)"
    " SELECT 'log', :p, n, 'e' || :p || '-' || n,"
    " CASE WHEN n % 10 = 0 THEN :system ELSE 'src' END, 't', 'p', 's', now(), '{}',"
    " CASE WHEN n % 10 = 1 THEN 'duplicate' WHEN n % 10 = 2 THEN 'refused' ELSE 'applied' END,"
    " '\\x00', '\\x00', '\\x00' FROM generate_series(CAST(:first AS bigint), :last) AS n"
)
_HEAD = text(
    "INSERT INTO haven_core.audit_heads (topic, partition, first_offset, next_offset, head_hash)"
    " VALUES ('log', :p, 0, :n, '\\x00') ON CONFLICT (topic, partition)"
    " DO UPDATE SET next_offset = EXCLUDED.next_offset"
)


def _log(engine: Engine, partition: int, first: int, last: int, head: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            _ENTRIES, {"p": partition, "first": first, "last": last, "system": SYSTEM_SOURCE}
        )
        conn.execute(_HEAD, {"p": partition, "n": head})


def _judged(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM haven_core.audit_ledger AS l JOIN haven_core.audit_heads"
                    " AS h ON h.topic = l.topic AND h.partition = l.partition"
                    " AND l.log_offset < h.next_offset"
                    " WHERE l.source <> :s AND l.outcome <> 'duplicate'"
                ),
                {"s": SYSTEM_SOURCE},
            ).scalar_one()
        )


def test_each_count_adds_what_the_heads_moved_past_and_equals_a_whole_count(
    engine: Engine,
) -> None:
    count = LedgerEvents(engine)
    assert count() == 0
    _log(engine, 0, 0, 99, 100)
    _log(engine, 1, 0, 49, 50)
    assert count() == _judged(engine) == 80 + 40  # system and duplicate entries left out
    # An entry past its partition's head is not counted until the head passes it.
    _log(engine, 1, 50, 59, 55)
    assert count() == _judged(engine) == 120 + 3  # 50-54: one system, one duplicate
    _log(engine, 1, 60, 60, 61)
    _log(engine, 2, 0, 9, 10)
    assert count() == _judged(engine) == 123 + 5 + 8  # 55-59 now under the head; 60 system
    assert count() == 136  # nothing new: nothing added
    assert count.heads == {("log", 0): 100, ("log", 1): 61, ("log", 2): 10}
