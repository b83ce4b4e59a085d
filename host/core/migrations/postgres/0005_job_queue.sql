-- The job queue carries mail, outbox and process steps: a dedup key allows at
-- most one queued or running job per (kind, key), e.g. one fetch per mail
-- account, and workers claim by kind.
ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
-- When the last attempt started (enqueue-to-start waits, for operators and benches).
ALTER TABLE jobs ADD COLUMN started_at BIGINT;
CREATE UNIQUE INDEX jobs_dedup ON jobs(kind, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running');
-- Claims look only at live jobs: done ones (kept for a week) never slow them down.
CREATE INDEX jobs_active ON jobs(kind, run_at) WHERE status IN ('queued', 'running');
