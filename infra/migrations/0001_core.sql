-- haven_core: agencies, tokens, keys, sealer positions and de-duplication.
CREATE SCHEMA IF NOT EXISTS haven_core;

CREATE TABLE haven_core.agencies (
    id            text PRIMARY KEY,
    agency_type   text NOT NULL,
    jurisdiction  char(2) NOT NULL,
    name          text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    db_role       text NOT NULL UNIQUE
);

-- API tokens are 256-bit random secrets; only their SHA-256 is stored.
CREATE TABLE haven_core.agency_tokens (
    token_id   text PRIMARY KEY,
    agency_id  text NOT NULL REFERENCES haven_core.agencies (id),
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX agency_tokens_agency ON haven_core.agency_tokens (agency_id);

-- Data keys, wrapped (AES-256-GCM) by the master key.  Destroying a key
-- nulls its wrapped bytes for good; the row stays as proof of destruction.
CREATE TABLE haven_core.keys (
    kid          text PRIMARY KEY,
    scope        text NOT NULL CHECK (scope IN ('subject', 'order', 'dlq')),
    owner        text NOT NULL,
    epoch        integer NOT NULL DEFAULT 0,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),
    UNIQUE (scope, owner, epoch)
);

-- The sealer's own positions in each inbox partition (Kafka's committed
-- offsets are not trusted for this).
CREATE TABLE haven_core.sealer_positions (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- Events already sealed into the log, by (source, id): the sealer's dedup.
CREATE TABLE haven_core.sealed_events (
    source     text NOT NULL,
    event_id   text NOT NULL,
    sealed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

-- System events (agency registered, ...) written in the same transaction as
-- the change they describe, then relayed to the log at least once.
CREATE TABLE haven_core.system_outbox (
    seq        bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    relayed_at timestamptz
);
CREATE INDEX system_outbox_pending ON haven_core.system_outbox (seq) WHERE relayed_at IS NULL;
