-- Sealed records on their way into the log (docs/audit.md "What is durable").
-- The gateway (HTTP) and the sealer (agency inboxes) write each sealed record
-- here in the transaction that records its (source, id) mark, so a mark
-- always means "durable".  The relay produces pending rows to the log in
-- sequence order and sets relayed_at; the engine deletes a row in the batch
-- transaction that archives its record.  A row still here after the embedded
-- broker lost its memory is produced again (relayed_at reset on reopen).
-- Values are sealed: no plaintext personal data.
CREATE TABLE haven_core.sealed_outbox (
    seq          bigserial PRIMARY KEY,
    source       text NOT NULL,
    event_id     text NOT NULL,
    record_key   bytea,
    record_value bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    relayed_at   timestamptz,
    UNIQUE (source, event_id)
);
CREATE INDEX sealed_outbox_pending ON haven_core.sealed_outbox (seq) WHERE relayed_at IS NULL;

-- On reopen, system events the archive lacks are relayed again: find them by id.
CREATE INDEX audit_ledger_system_event ON haven_core.audit_ledger (event_id, partition)
    WHERE source = 'urn:haven:system';
