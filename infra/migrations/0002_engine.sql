-- The projection engine: positions, applied ids, subject state, receipts,
-- schedules, notices.  See docs/engine.md.

CREATE TABLE haven_core.engine_positions (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- (partition, source, id) of every applied event: re-deliveries change nothing.
-- System events without a subject reach every partition and apply once in each.
CREATE TABLE haven_core.applied_events (
    topic     text NOT NULL,
    partition integer NOT NULL,
    source    text NOT NULL,
    event_id  text NOT NULL,
    PRIMARY KEY (topic, partition, source, event_id)
);

-- What the engine knows of each subject (consent ledger, holders...): no personal data.
CREATE TABLE haven_core.subject_states (
    subject_id text PRIMARY KEY,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Agencies and policy each partition has seen registered/activated (log order).
CREATE TABLE haven_core.partition_agencies (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    agency_id    text NOT NULL,
    agency_type  text NOT NULL,
    jurisdiction char(2) NOT NULL,
    PRIMARY KEY (topic, partition, agency_id)
);

CREATE TABLE haven_core.partition_policies (
    topic     text NOT NULL,
    partition integer NOT NULL,
    digest    text NOT NULL,
    PRIMARY KEY (topic, partition)
);

CREATE TABLE haven_core.policies (
    digest         text PRIMARY KEY,
    policy_version text NOT NULL,
    document       text NOT NULL,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    activated_at   timestamptz
);

-- Deliveries under a rule-3 lawful basis, kept sealed so that erasure can
-- rebuild exactly the rows the law lets an agency keep.
CREATE TABLE haven_core.retained_deliveries (
    seq        bigserial PRIMARY KEY,
    subject_id text NOT NULL,
    agency_id  text NOT NULL,
    event      jsonb NOT NULL,
    fields     text[] NOT NULL,
    bases      text[] NOT NULL,
    partition  integer NOT NULL,
    log_offset bigint NOT NULL
);
CREATE INDEX retained_deliveries_subject ON haven_core.retained_deliveries (subject_id, agency_id, seq);

CREATE TABLE haven_core.refusals (
    event_id   text NOT NULL,
    source     text NOT NULL,
    producer   text NOT NULL,
    subject_id text,
    event_type text NOT NULL,
    reason     text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

-- Per withdrawal (or expiry), agency and projector: counts and ids only.
CREATE TABLE haven_core.erasure_receipts (
    withdrawal_event_id text NOT NULL,
    subject_id          text NOT NULL,
    agency_id           text NOT NULL,
    projector           text NOT NULL,
    cause               text NOT NULL,
    rows_erased         integer NOT NULL,
    rows_retained       integer NOT NULL,
    retained_bases      text[] NOT NULL DEFAULT '{}',
    key_action          text NOT NULL,
    key_reason          text,
    key_ids             text[] NOT NULL DEFAULT '{}',
    key_due_at          timestamptz,
    backup_horizon      text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (withdrawal_event_id, agency_id, projector)
);
CREATE INDEX erasure_receipts_subject ON haven_core.erasure_receipts (subject_id);

CREATE TABLE haven_core.scheduled_erasures (
    withdrawal_event_id text PRIMARY KEY,
    subject_id          text NOT NULL,
    max_epoch           integer NOT NULL,
    due_at              timestamptz NOT NULL,
    cancelled_at        timestamptz,
    executed_at         timestamptz,
    key_ids             text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX scheduled_erasures_due ON haven_core.scheduled_erasures (due_at)
    WHERE cancelled_at IS NULL AND executed_at IS NULL;

CREATE TABLE haven_core.consent_expiries (
    subject_id text NOT NULL,
    consent_id text NOT NULL,
    expires_at timestamptz NOT NULL,
    emitted_at timestamptz,
    PRIMARY KEY (subject_id, consent_id)
);
CREATE INDEX consent_expiries_due ON haven_core.consent_expiries (expires_at) WHERE emitted_at IS NULL;

CREATE TABLE haven_core.notice_outbox (
    notice_id  text PRIMARY KEY,
    agency_id  text NOT NULL,
    subject_id text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    relayed_at timestamptz
);
CREATE INDEX notice_outbox_pending ON haven_core.notice_outbox (created_at) WHERE relayed_at IS NULL;
