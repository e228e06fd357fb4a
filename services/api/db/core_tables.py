"""``haven_core`` tables auditor roles may read (never keys or tokens)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

_TS = TIMESTAMP(timezone=True)
metadata = sa.MetaData(schema="haven_core")

ERASURE_RECEIPTS = sa.Table(
    "erasure_receipts",
    metadata,
    sa.Column("withdrawal_event_id", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("projector", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("rows_erased", sa.Integer, nullable=False),
    sa.Column("rows_retained", sa.Integer, nullable=False),
    sa.Column("retained_bases", ARRAY(sa.Text), nullable=False),
    sa.Column("key_action", sa.Text, nullable=False),
    sa.Column("key_reason", sa.Text),
    sa.Column("key_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("key_due_at", _TS),
    sa.Column("backup_horizon", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

ACCESS_LOG = sa.Table(
    "access_log",
    metadata,
    sa.Column("id", sa.BigInteger, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("read_at", _TS, nullable=False),
)
