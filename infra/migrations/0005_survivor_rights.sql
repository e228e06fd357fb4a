-- Survivor's rights: what each agency holds, corrections, grant receipts and
-- the consent history.  See docs/survivor-rights.md.  No personal value in
-- clear: sealed fields stay sealed, bound to the event that sealed them.

-- Per subject and agency, every log event it currently holds and the fields
-- and bases it holds it with (the engine's record of its own deliveries).
CREATE TABLE haven_core.holdings (
    subject_id     text NOT NULL,
    agency_id      text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    log_offset     bigint NOT NULL,
    event_id       text NOT NULL,
    event_type     text NOT NULL,
    fields         text[] NOT NULL,
    bases          text[] NOT NULL,
    held_since     timestamptz NOT NULL,
    PRIMARY KEY (subject_id, agency_id, topic, partition, log_offset)
);
CREATE INDEX holdings_event ON haven_core.holdings (subject_id, topic, partition, log_offset);

-- Accepted rectifications: the target, who, why, which fields; the corrected
-- values as the log holds them (personal ones sealed, bound to this event).
CREATE TABLE haven_core.rectifications (
    topic                  text NOT NULL,
    partition              integer NOT NULL,
    log_offset             bigint NOT NULL,
    rectification_event_id text NOT NULL,
    subject_id             text NOT NULL,
    target_event_id        text NOT NULL,
    target_offset          bigint NOT NULL,
    target_type            text NOT NULL,
    producer               text NOT NULL,
    reason                 text NOT NULL,
    retract                boolean NOT NULL,
    field_names            text[] NOT NULL,
    corrected              jsonb NOT NULL,
    agencies               text[] NOT NULL,
    rectified_at           timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, log_offset)
);
CREATE INDEX rectifications_subject ON haven_core.rectifications (subject_id, target_offset);

-- Per accepted grant and agency: how many earlier events of the subject it
-- shared (docs/survivor-rights.md "A grant shares the current record").
CREATE TABLE haven_core.grant_receipts (
    grant_event_id text NOT NULL,
    subject_id     text NOT NULL,
    consent_id     text NOT NULL,
    agency_id      text NOT NULL,
    events_shared  integer NOT NULL,
    granted_at     timestamptz NOT NULL,
    PRIMARY KEY (grant_event_id, agency_id)
);
CREATE INDEX grant_receipts_subject ON haven_core.grant_receipts (subject_id);

-- The consent history: every accepted grant (with its evidence), withdrawal
-- and expiry, in log order.  Ids, selectors and purposes only.
CREATE TABLE haven_core.consent_records (
    topic      text NOT NULL,
    partition  integer NOT NULL,
    log_offset bigint NOT NULL,
    subject_id text NOT NULL,
    event_id   text NOT NULL,
    kind       text NOT NULL,
    producer   text NOT NULL,
    at         timestamptz NOT NULL,
    record     jsonb NOT NULL,
    PRIMARY KEY (topic, partition, log_offset)
);
CREATE INDEX consent_records_subject ON haven_core.consent_records (subject_id, log_offset);
