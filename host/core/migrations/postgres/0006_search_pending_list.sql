-- A GIN index with fastupdate keeps new entries in a pending list that every
-- search scans linearly until (auto)vacuum merges it; under a stream of
-- creates that list held megabytes and a rare word took 30 ms to find among
-- 10,000 tickets. The smallest pending list (64 kB) is merged by the inserts
-- themselves, often and in small pieces: inserts cost about the same, a search
-- stays on the index (well under a millisecond for the same query).
ALTER INDEX ticket_search_document SET (gin_pending_list_limit = 64);
ALTER INDEX ticket_search_public SET (gin_pending_list_limit = 64);
