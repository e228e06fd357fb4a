-- A subject read in one round trip: the API's login role may also become a
-- role that can do one thing, add rows to the access log, so the row of a
-- read is written in the read's own transaction and committed before the
-- answer (services/api/db/agency.py, read_logged).  That role cannot read
-- the access log, any agency's schema, keys or tokens, and cannot choose a
-- row's id or time.
DO $$
DECLARE
    api text := left(current_database() || '__api', 63);
    writer text := left(current_database() || '__access_log', 63);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = writer) THEN
        EXECUTE 'CREATE ROLE ' || quote_ident(writer) || ' NOLOGIN NOINHERIT';
    END IF;
    EXECUTE 'GRANT USAGE ON SCHEMA haven_core TO ' || quote_ident(writer);
    EXECUTE 'GRANT INSERT (agency_id, subject_id, endpoint) ON haven_core.access_log TO '
        || quote_ident(writer);
    EXECUTE 'GRANT USAGE ON SEQUENCE haven_core.access_log_id_seq TO ' || quote_ident(writer);
    EXECUTE 'GRANT ' || quote_ident(writer) || ' TO ' || quote_ident(api);
END $$;
