-- Which sealed outbox rows the log has not acknowledged yet: their sequence
-- numbers, in a narrow table of their own.  The relay used to mark a row by
-- setting its relayed_at, which rewrote the whole row (the sealed record's
-- bytes, about a kilobyte each) and, since relayed_at decided the pending
-- index, every index entry of it: as much WAL as the insert itself.  Now the
-- stage inserts the row here too, the relay deletes it once the log
-- acknowledged the record, and the outbox row itself is never updated.  The
-- record's (source, id) is repeated here so that the relay reads what is pending
-- from this table alone (the values of the records it holds come from memory).
CREATE TABLE haven_core.sealed_pending (
    seq      bigint PRIMARY KEY,
    source   text NOT NULL,
    event_id text NOT NULL
);
INSERT INTO haven_core.sealed_pending (seq, source, event_id)
    SELECT seq, source, event_id FROM haven_core.sealed_outbox WHERE relayed_at IS NULL;
DROP INDEX haven_core.sealed_outbox_pending;
ALTER TABLE haven_core.sealed_outbox DROP COLUMN relayed_at;
