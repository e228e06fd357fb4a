"""Sealed records staged into the outbox as the sealer stages them (its own transaction,
no ``NOTIFY``: the sealer wakes its relay itself)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from projectors.outbox.sealed import SealedRecord, stage_sealed


def stage_records(engine: Engine, source: str, ids: Iterable[str]) -> None:
    """Stage one record per id under ``source``, valued ``sealed <id>``, in one transaction."""
    records = [SealedRecord(source, i, None, f"sealed {i}".encode()) for i in ids]
    with engine.begin() as conn:
        stage_sealed(conn, records, notify=False)
