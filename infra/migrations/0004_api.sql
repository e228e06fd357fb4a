-- The HTTP API: its login role, the access log, counters for /metrics.

-- Who read what: every API read of subject data (no personal values).
CREATE TABLE haven_core.access_log (
    id         bigserial PRIMARY KEY,
    agency_id  text NOT NULL,
    subject_id text NOT NULL,
    endpoint   text NOT NULL,
    read_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_log_subject ON haven_core.access_log (subject_id, read_at);

-- Rejected inputs per reason, for /metrics (the sealer and the gateway count).
CREATE TABLE haven_core.rejection_counts (
    source text NOT NULL,
    reason text NOT NULL,
    count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (source, reason)
);

-- Worker heartbeats: /v1/health is ready only while a worker beats.
CREATE TABLE haven_core.worker_heartbeats (
    worker_id  text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    ready_at   timestamptz,
    beat_at    timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS haven_stats;

-- The API's login role owns nothing and inherits nothing: it can only
-- SET ROLE into an agency role, so even a RESET ROLE leaves it without access.
DO $$
DECLARE
    api text := left(current_database() || '__api', 63);
    agency record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api) THEN
        EXECUTE 'CREATE ROLE ' || quote_ident(api) || ' NOLOGIN NOINHERIT';
    END IF;
    EXECUTE 'REVOKE ALL ON SCHEMA public FROM ' || quote_ident(api);
    FOR agency IN SELECT id, agency_type, db_role FROM haven_core.agencies LOOP
        EXECUTE 'GRANT ' || quote_ident(agency.db_role) || ' TO ' || quote_ident(api);
    END LOOP;
END $$;
