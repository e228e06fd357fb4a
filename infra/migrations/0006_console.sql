-- The oversight console (/console): sign-in sessions and background verify runs.

-- A session id is 32 random bytes in an HttpOnly cookie; only its SHA-256 is
-- stored, so a copy of this table cannot be replayed as a cookie.
CREATE TABLE haven_core.console_sessions (
    id_sha256  bytea PRIMARY KEY,
    agency_id  text NOT NULL REFERENCES haven_core.agencies (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON haven_core.console_sessions (expires_at);

-- Each `audit verify` started from the console: progress while it runs,
-- then the result per partition (ids, offsets and kinds only).
CREATE TABLE haven_core.verify_runs (
    id           bigserial PRIMARY KEY,
    started_by   text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'holds', 'broken', 'failed', 'interrupted')),
    entries_done bigint NOT NULL DEFAULT 0,
    entries_total bigint NOT NULL DEFAULT 0,
    report       jsonb
);
