-- Integration over HTTP: token expiry, notices and dead letters per agency,
-- webhooks with a durable delivery outbox.

-- A token may expire (rotation overlap, or a lifetime chosen at issue).
ALTER TABLE haven_core.agency_tokens ADD COLUMN expires_at timestamptz;

-- Notices get a sequence: the cursor of GET /v1/notices.
ALTER TABLE haven_core.notice_outbox ADD COLUMN seq bigserial;
CREATE UNIQUE INDEX notice_outbox_agency_seq ON haven_core.notice_outbox (agency_id, seq);

-- How far each agency has acknowledged its notices (POST /v1/notices/ack).
CREATE TABLE haven_core.notice_acks (
    agency_id  text PRIMARY KEY REFERENCES haven_core.agencies (id),
    acked_seq  bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per record the sealer rejected, written in the transaction that
-- advances the sealer's position (so exactly once): the reason and the field
-- errors (fixed messages, never values), never the original bytes.
CREATE TABLE haven_core.dead_letters (
    seq              bigserial PRIMARY KEY,
    agency_id        text NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    reason           text NOT NULL,
    errors           jsonb NOT NULL,
    size_bytes       integer NOT NULL,
    received_at      timestamptz NOT NULL
);
CREATE INDEX dead_letters_agency ON haven_core.dead_letters (agency_id, seq);

-- An agency's webhook.  The signing secret must be usable to sign, so it is
-- not hashed: it is wrapped (AES-256-GCM) under the master key like data keys.
CREATE TABLE haven_core.agency_webhooks (
    agency_id      text PRIMARY KEY REFERENCES haven_core.agencies (id),
    url            text NOT NULL,
    secret_wrapped bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Deliveries: one per (agency, CloudEvent id), retried with backoff until
-- the endpoint answers 2xx.  Never deleted when they fail; cleared with the
-- webhook only.
CREATE TABLE haven_core.webhook_outbox (
    seq             bigserial PRIMARY KEY,
    agency_id       text NOT NULL REFERENCES haven_core.agencies (id),
    ce_id           text NOT NULL,
    ce_type         text NOT NULL,
    ce_subject      text,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    UNIQUE (agency_id, ce_id)
);
CREATE INDEX webhook_outbox_due ON haven_core.webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL;

-- Every notice and dead letter of an agency with a webhook is enqueued in the
-- transaction that writes it, so none is lost between the two.
CREATE FUNCTION haven_core.enqueue_notice_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO haven_core.webhook_outbox (agency_id, ce_id, ce_type, ce_subject, payload)
    SELECT NEW.agency_id, NEW.notice_id, COALESCE(NEW.payload->>'type', 'haven.notice.v1'),
           NEW.subject_id, NEW.payload
    FROM haven_core.agency_webhooks WHERE agency_id = NEW.agency_id
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER notice_webhook AFTER INSERT ON haven_core.notice_outbox
    FOR EACH ROW EXECUTE FUNCTION haven_core.enqueue_notice_webhook();

CREATE FUNCTION haven_core.enqueue_dead_letter_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO haven_core.webhook_outbox (agency_id, ce_id, ce_type, payload)
    SELECT NEW.agency_id, 'dead-letter-' || NEW.seq, 'haven.dead_letter.v1',
           jsonb_build_object(
               'id', NEW.seq, 'reason', NEW.reason, 'errors', NEW.errors,
               'source_topic', NEW.source_topic, 'source_partition', NEW.source_partition,
               'source_offset', NEW.source_offset, 'size_bytes', NEW.size_bytes,
               'received_at', NEW.received_at)
    FROM haven_core.agency_webhooks WHERE agency_id = NEW.agency_id
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER dead_letter_webhook AFTER INSERT ON haven_core.dead_letters
    FOR EACH ROW EXECUTE FUNCTION haven_core.enqueue_dead_letter_webhook();
