"""``haven audit verify``: recompute every chain, check the archive and the broker's log.

Everything is read in one ``REPEATABLE READ`` snapshot, so a live engine
committing batches meanwhile never shows as a broken tail.  Per partition it
reports the first modified, missing, inserted or reordered ledger entry, the
first archived record whose bytes no longer match the ledger, and, when the
broker still holds the log, the first record that differs (docs/audit.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from projectors.audit.archive import record_digest
from projectors.log import LogRecord
from services.audit.chain import ChainWalk, Finding, LedgerRow

_ROWS = text(
    "SELECT log_offset, l.event_id, l.source, l.event_type, l.producer, l.subject_id,"
    " l.jurisdiction, l.event_time, l.recipients, l.outcome, l.record_sha256, l.prev_hash,"
    " l.entry_hash, sha256(a.record_value), l.log_offset IS NOT NULL"
    " FROM (SELECT * FROM haven_core.audit_ledger WHERE topic = :t AND partition = :p) l"
    " FULL JOIN (SELECT log_offset, record_value FROM haven_core.log_archive"
    "  WHERE topic = :t AND partition = :p) a USING (log_offset)"
    " ORDER BY log_offset"
)


@dataclass
class PartitionReport:
    """The result for one (topic, partition)."""

    topic: str
    partition: int
    entries: int = 0
    head_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)
    log_records: int | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "log_records": self.log_records,
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class VerifyReport:
    """Every partition's result; ``ok`` only when nothing was found."""

    partitions: list[PartitionReport] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every chain, the archive and the log agree."""
        return not any(p.findings for p in self.partitions)

    @property
    def entries(self) -> int:
        """Ledger entries checked."""
        return sum(p.entries for p in self.partitions)

    def to_json(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "elapsed_s": self.elapsed_s,
            "partitions": [p.to_json() for p in self.partitions],
        }


def verify(
    engine: Engine,
    *,
    log: Mapping[tuple[str, int], Sequence[LogRecord]] | None = None,
    on_entries: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify every chain in the database; compare with ``log`` records where given."""
    started = time.perf_counter()
    report = VerifyReport()
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as conn, conn.begin():
        heads = _heads(conn)
        for topic, partition in _partitions(conn, heads):
            result = _verify_partition(conn, topic, partition, heads, on_entries)
            records = None if log is None else log.get((topic, partition))
            if records is not None:
                _compare_log(conn, result, records)
            report.partitions.append(result)
    report.elapsed_s = round(time.perf_counter() - started, 3)
    return report


def _heads(conn: Connection) -> dict[tuple[str, int], tuple[int, int, bytes]]:
    rows = conn.execute(
        text(
            "SELECT topic, partition, first_offset, next_offset, head_hash"
            " FROM haven_core.audit_heads  -- anchors"
        )
    )
    return {(r[0], r[1]): (r[2], r[3], bytes(r[4])) for r in rows}


def _partitions(conn: Connection, heads: Mapping[tuple[str, int], object]) -> list[tuple[str, int]]:
    rows = conn.execute(
        text(
            "SELECT DISTINCT topic, partition FROM haven_core.audit_ledger"
            " UNION SELECT DISTINCT topic, partition FROM haven_core.log_archive"
        )
    )
    return sorted(set(heads) | {(r[0], r[1]) for r in rows})


def _verify_partition(
    conn: Connection,
    topic: str,
    partition: int,
    heads: Mapping[tuple[str, int], tuple[int, int, bytes]],
    on_entries: Callable[[int], None] | None,
) -> PartitionReport:
    head = heads.get((topic, partition))
    params = {"t": topic, "p": partition}

    def hash_exists(digest: bytes) -> bool:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM haven_core.audit_ledger"
                    " WHERE topic = :t AND partition = :p AND entry_hash = :h)"
                ),
                params | {"h": digest},
            ).scalar()
        )

    first = head[0] if head is not None else 0
    walk = ChainWalk(topic, partition, first, hash_exists)
    archive_finding: Finding | None = None
    streamed = conn.execution_options(stream_results=True, yield_per=5000)
    for row in streamed.execute(_ROWS, params):
        offset, archived_sha, in_ledger = row[0], row[13], row[14]
        if not in_ledger:
            walk.gap(offset)
            continue
        ledger_row = LedgerRow.from_db(topic, partition, tuple(row[:13]))
        walk.feed(ledger_row)
        if archive_finding is None:
            archive_finding = _archive_check(topic, partition, ledger_row, archived_sha)
        if on_entries is not None and walk.entries % 5000 == 0:
            on_entries(5000)
    if on_entries is not None:
        on_entries(walk.entries % 5000)
    walk.finish(head[1] if head else None, head[2] if head else None)
    findings = [f for f in (walk.finding, archive_finding) if f is not None]
    return PartitionReport(
        topic, partition, walk.entries, head[2].hex() if head else None, findings
    )


def _archive_check(
    topic: str, partition: int, row: LedgerRow, archived_sha: object
) -> Finding | None:
    offset = row.entry.offset
    if archived_sha is None:
        return Finding(topic, partition, offset, "archive_missing", "no archived record")
    if bytes(archived_sha) != row.entry.record_sha256:  # type: ignore[call-overload]
        return Finding(
            topic, partition, offset, "archive_modified", "archived bytes differ from the ledger"
        )
    return None


def _compare_log(conn: Connection, result: PartitionReport, records: Sequence[LogRecord]) -> None:
    """The log against the ledger's record hashes (the log may run ahead: unprojected)."""
    result.log_records = len(records)
    if not records:
        return  # the broker lost this partition (embedded, restarted): nothing to compare
    ledger = {
        row[0]: bytes(row[1])
        for row in conn.execute(
            text(
                "SELECT log_offset, record_sha256 FROM haven_core.audit_ledger"
                " WHERE topic = :t AND partition = :p"
            ),
            {"t": result.topic, "p": result.partition},
        )
    }
    seen = set()
    for record in records:
        seen.add(record.offset)
        expected = ledger.get(record.offset)
        if expected is not None and record_digest(record.value) != expected:
            result.findings.append(
                Finding(
                    result.topic,
                    result.partition,
                    record.offset,
                    "log_modified",
                    "the log's record differs from the ledger and archive",
                )
            )
            return
    start = records[0].offset
    absent = sorted(o for o in ledger if o >= start and o not in seen)
    if absent:
        result.findings.append(
            Finding(
                result.topic,
                result.partition,
                absent[0],
                "log_missing",
                "the log lacks a record the ledger holds",
            )
        )
