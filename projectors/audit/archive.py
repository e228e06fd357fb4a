"""The sealed log archive: read it, read the broker's log, restore an empty log from it.

The engine archives every record it reads (``haven_core.log_archive``, in the
batch transaction, see :mod:`projectors.audit.ledger`).  The embedded broker
keeps memory only, so ``haven up`` calls :func:`restore_log_from_archive`
before starting workers: an empty log gets every archived record back at
the same offset, verified by reading the log back (docs/audit.md "Restore").
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kafka import KafkaProducer, TopicPartition
from sqlalchemy import Connection, Engine, text

from events.kafka_security import kafka_python_kwargs
from events.limits import MAX_EVENT_BYTES, MAX_MESSAGE_BYTES
from infra.topics import read_until_quiet, reading_consumer, topic_partitions
from projectors.log import LogRecord
from projectors.runtime.batch_send import HEADERS

logger = logging.getLogger("haven.archive")


class RestoreRefused(RuntimeError):
    """The log cannot take the archive: it holds other records, or offsets cannot match."""


class RestoreFailed(RuntimeError):
    """Records were produced but the log read back differs from the archive."""


@dataclass
class RestoreReport:
    """What :func:`restore_log_from_archive` did, per partition."""

    topic: str
    restored: dict[int, int] = field(default_factory=dict)
    already_present: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def records(self) -> int:
        """Records produced now."""
        return sum(self.restored.values())


def archived_partitions(conn: Connection, topic: str) -> dict[int, tuple[int, int, int]]:
    """Per partition: first offset, last offset and number of archived records."""
    rows = conn.execute(
        text(
            "SELECT partition, min(log_offset), max(log_offset), count(*)"
            " FROM haven_core.log_archive WHERE topic = :t GROUP BY partition"
        ),
        {"t": topic},
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def archived_records(
    engine: Engine, topic: str, partition: int, chunk: int = 5000
) -> Iterator[tuple[bytes | None, LogRecord]]:
    """Every archived record of one partition in offset order, as (key, record)."""
    after = -1
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT log_offset, record_key, record_value FROM haven_core.log_archive"
                    " WHERE topic = :t AND partition = :p AND log_offset > :a"
                    " ORDER BY log_offset LIMIT :n"
                ),
                {"t": topic, "p": partition, "a": after, "n": chunk},
            ).all()
        if not rows:
            return
        for offset, key, value in rows:
            yield (None if key is None else bytes(key)), LogRecord(offset, bytes(value))
        after = rows[-1][0]


def read_log(
    bootstrap_servers: str,
    topic: str,
    *,
    idle_s: float = 1.5,
    timeout_s: float = 300.0,
    at_least: Mapping[int, int] | None = None,
) -> dict[int, list[LogRecord]]:
    """Every record the broker holds in ``topic``, by partition.

    Reads until no record arrives for ``idle_s``: the embedded broker's end
    offsets can lag behind real positions, so they are not trusted.
    ``at_least``: next offsets, by partition, that the caller knows the log
    has reached (the engine's positions, say); reading goes on until each is
    read, however long a loaded broker is quiet meanwhile.
    """
    wanted = {p: end for p, end in (at_least or {}).items() if end > 0}
    consumer = reading_consumer(bootstrap_servers)
    found: dict[int, list[LogRecord]] = defaultdict(list)
    try:
        partitions = topic_partitions(bootstrap_servers, [topic])[topic]
        if not partitions:
            return {}
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        for r in read_until_quiet(
            consumer, idle_s=idle_s, timeout_s=timeout_s, waiting=lambda: bool(wanted)
        ):
            found[r.partition].append(LogRecord(r.offset, r.value or b""))
            if r.offset + 1 >= wanted.get(r.partition, 0):
                wanted.pop(r.partition, None)
        return {p: found.get(p, []) for p in partitions}
    finally:
        consumer.close()


def first_difference(log: list[LogRecord], archive: list[LogRecord]) -> int | None:
    """The first offset where the log's records differ from the archive's (None: same)."""
    for logged, kept in zip(log, archive, strict=False):
        if logged.offset != kept.offset or logged.value != kept.value:
            return min(logged.offset, kept.offset)
    if len(log) < len(archive):
        return archive[len(log)].offset
    return None


def restore_log_from_archive(engine: Engine, bootstrap_servers: str, topic: str) -> RestoreReport:
    """Put every archived record back into an empty log at its archived offset.

    The topic must exist with at least as many partitions as the archive uses.
    A partition already holding the archive (and maybe more) is left alone; a
    partition holding anything else raises :class:`RestoreRefused`, as does an
    archive that does not start at offset 0 or has a gap.  After producing,
    the log is read back and compared record by record (offset and bytes);
    any difference raises :class:`RestoreFailed`.
    """
    started = time.monotonic()
    report = RestoreReport(topic)
    with engine.connect() as conn:
        archived = archived_partitions(conn, topic)
    if not archived:
        return report
    log = read_log(bootstrap_servers, topic)
    missing = sorted(p for p in archived if p not in log)
    if missing:
        raise RestoreRefused(
            f"{topic} lacks partitions {missing} that the archive holds: create the topic"
            f" with at least {max(archived) + 1} partitions first"
        )
    todo: dict[int, list[tuple[bytes | None, LogRecord]]] = {}
    for partition, (first, last, count) in sorted(archived.items()):
        if first != 0 or last != count - 1:
            raise RestoreRefused(
                f"{topic}[{partition}] archive holds offsets {first}..{last} with"
                f" {last - first + 1 - count} gaps: an empty log cannot take them"
                " at the same offsets"
            )
        records = list(archived_records(engine, topic, partition))
        present = log[partition]
        if present:
            differs = first_difference(present[: len(records)], [r for _, r in records])
            if differs is not None:
                raise RestoreRefused(
                    f"{topic}[{partition}] is not empty and differs from the archive at"
                    f" offset {differs}: refusing to restore over it"
                )
            report.already_present[partition] = len(records)
            continue
        todo[partition] = records
    if todo:
        _produce(bootstrap_servers, topic, todo)
        _check_restored(bootstrap_servers, topic, todo)
    report.restored = {p: len(records) for p, records in todo.items()}
    report.elapsed_s = round(time.monotonic() - started, 3)
    logger.info(
        "log restored from archive",
        extra={
            "topic": topic,
            "records": report.records,
            "partitions": sorted(report.restored),
            "elapsed_s": report.elapsed_s,
        },
    )
    return report


def _produce(
    bootstrap_servers: str, topic: str, todo: dict[int, list[tuple[bytes | None, LogRecord]]]
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        acks="all",
        max_in_flight_requests_per_connection=1,  # order within a partition, even on retry
        retries=3,
        linger_ms=20,
        batch_size=MAX_EVENT_BYTES,
        max_request_size=MAX_MESSAGE_BYTES,
        client_id="haven-restore",
        **kafka_python_kwargs(),
    )
    try:
        for partition, records in sorted(todo.items()):
            for key, record in records:
                producer.send(
                    topic, value=record.value, key=key, partition=partition, headers=HEADERS
                )
        producer.flush(timeout=300)
    finally:
        producer.close(timeout=30)


def _check_restored(
    bootstrap_servers: str, topic: str, todo: dict[int, list[tuple[bytes | None, LogRecord]]]
) -> None:
    log = read_log(bootstrap_servers, topic)
    for partition, records in sorted(todo.items()):
        archived = [record for _, record in records]
        back = log.get(partition, [])
        differs = first_difference(back, archived)
        if differs is not None or len(back) != len(archived):
            where = differs if differs is not None else len(archived)
            raise RestoreFailed(
                f"{topic}[{partition}] read back differs from the archive at offset {where}"
                f" ({len(back)} records in the log, {len(archived)} archived)"
            )


def record_digest(value: bytes) -> bytes:
    """SHA-256 of a record's bytes (what the ledger's ``record_sha256`` holds)."""
    return hashlib.sha256(value).digest()
