-- PostgreSQL bounds its full-text indexes' pending lists in this migration;
-- SQLite's FTS5 index merges its own segments, so nothing changes here. The
-- file keeps both migration trees numbered alike.
SELECT 1;
