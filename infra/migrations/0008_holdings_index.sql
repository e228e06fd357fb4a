-- The holdings' second index (subject, topic, partition, offset) repeated the
-- primary key's leading column: every read and delete of holdings names its
-- subject, and a subject's holdings are a few hundred rows at most, which the
-- primary key finds by subject.  It cost a second index entry for each of the
-- two to three holdings every delivered event writes.
DROP INDEX IF EXISTS haven_core.holdings_event;
