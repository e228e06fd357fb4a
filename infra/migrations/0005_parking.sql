-- Parked events: a poison event and every later event of its subject, in log
-- order, set aside so that the partition goes on (docs/engine.md "Poison
-- events are parked").  No personal data: ids, types and a reason; the
-- sealed record stays in haven_core.log_archive.
CREATE TABLE haven_core.parked_events (
    topic           text NOT NULL,
    partition       integer NOT NULL,
    log_offset      bigint NOT NULL,
    subject_id      text NOT NULL,
    source          text NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    producer        text NOT NULL,
    -- engine_error:<exception class> for the event that failed, subject_parked
    -- for the later ones held behind it.
    reason          text NOT NULL,
    -- A withdrawal or expiry applied at once while its subject was parked; a
    -- retry applies it again at its place in the sequence.
    applied_through boolean NOT NULL DEFAULT false,
    parked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, log_offset)
);

CREATE INDEX parked_events_subject ON haven_core.parked_events (subject_id, topic, partition);

-- What became of parked events: retried (applied), or parked again.
CREATE TABLE haven_core.parking_history (
    seq        bigserial PRIMARY KEY,
    topic      text NOT NULL,
    partition  integer NOT NULL,
    log_offset bigint NOT NULL,
    subject_id text NOT NULL,
    event_id   text NOT NULL,
    action     text NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
