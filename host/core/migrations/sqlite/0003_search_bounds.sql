-- Bounded full-text rows. On PostgreSQL this adds switchboard_tsv_append,
-- which keeps a ticket's tsvector under PostgreSQL's 1 MiB limit. FTS5 has no
-- such limit, so SQLite needs no change; this keeps the migration numbers of
-- both backends in step.
SELECT 1;
