"""Searching every topic, table and file for a personal value in plaintext."""

from __future__ import annotations

from pathlib import Path

from kafka import TopicPartition
from sqlalchemy import Engine, text

from infra.topics import read_until_quiet, reading_consumer
from services.bench.post_plan import NAME_MARK

MARK = NAME_MARK.encode()


def plaintext_in_tables(engine: Engine) -> list[str]:
    """Tables with a row holding the mark, as text or inside bytea."""
    found = []
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ).all()
        for schema, table in tables:
            hits = conn.execute(
                text(
                    f'SELECT count(*) FROM "{schema}"."{table}" t'
                    " WHERE t::text LIKE :plain OR t::text LIKE :hex"
                ),
                {"plain": f"%{NAME_MARK}%", "hex": f"%{MARK.hex()}%"},
            ).scalar()
            if hits:
                found.append(f"{schema}.{table}")
    return found


def plaintext_in_topics(bootstrap: str, idle_s: float = 2.0) -> list[str]:
    """Topics with a record holding the mark (every partition, from the beginning)."""
    consumer = reading_consumer(bootstrap)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in consumer.topics()
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        return sorted(
            {
                r.topic
                for r in read_until_quiet(consumer, idle_s=idle_s)
                if MARK in (r.value or b"") or MARK in (r.key or b"")
            }
        )
    finally:
        consumer.close()


def plaintext_in_files(root: Path) -> list[str]:
    """Files under ``root`` (data dir: Postgres files, logs, state) holding the mark."""
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and MARK in path.read_bytes():
                found.append(str(path.relative_to(root)))
        except OSError:
            continue
    return found
