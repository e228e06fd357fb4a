-- The audit ledger (a hash chain per log partition) and the sealed log archive.
-- Both are written in the engine's batch transaction.  See docs/audit.md.

-- One entry per record of the log the engine read, duplicates included.
-- entry_hash = SHA-256(prev_hash || canonical entry bytes): docs/audit.md
-- "The hash chain" defines the bytes.  No personal data: ids, types, times.
CREATE TABLE haven_core.audit_ledger (
    topic         text NOT NULL,
    partition     integer NOT NULL,
    log_offset    bigint NOT NULL,
    event_id      text NOT NULL,
    source        text NOT NULL,
    event_type    text NOT NULL,
    producer      text NOT NULL,
    subject_id    text,
    jurisdiction  text,
    event_time    timestamptz NOT NULL,
    recipients    text[] NOT NULL,
    outcome       text NOT NULL,
    record_sha256 bytea NOT NULL,
    prev_hash     bytea NOT NULL,
    entry_hash    bytea NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, log_offset)
);
CREATE INDEX audit_ledger_subject ON haven_core.audit_ledger (subject_id, topic, partition, log_offset);

-- The anchor of each chain: where it starts, where the engine's next entry
-- goes and the last entry's hash (so a truncated or extended tail shows).
CREATE TABLE haven_core.audit_heads (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    first_offset bigint NOT NULL,
    next_offset  bigint NOT NULL,
    head_hash    bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- The sealed record bytes themselves, exactly as read from the log.
CREATE TABLE haven_core.log_archive (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    log_offset   bigint NOT NULL,
    record_key   bytea,
    record_value bytea NOT NULL,
    PRIMARY KEY (topic, partition, log_offset)
);
