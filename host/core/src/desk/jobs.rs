//! The durable job queue: jobs live in the database, are claimed with a lease,
//! retried with exponential backoff and kept visible when they fail for good.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so several nodes share the
//! queue; SQLite claims under the single writer. A job whose worker died is
//! claimed again once its lease runs out.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{Arg, Backend, Sql};
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError, SystemDesk};

/// The kinds of job, each with its place in the queue: a priority (higher
/// kinds are claimed first when a node has fewer free slots than due jobs) and
/// how many of its jobs one node runs at once unless ops configure otherwise,
/// so one slow kind (an SMTP relay, say) never holds the slots of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// [`JobTask::PendingDue`].
    PendingDue,
}

impl JobKind {
    /// Every kind, highest priority first.
    pub const ALL: [JobKind; 1] = [JobKind::PendingDue];

    /// The stored and wire name (the `kind` column).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::PendingDue => "ticket.pending_due",
        }
    }

    /// Parses a stored or configured name.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Claim order between kinds: higher first.
    pub fn priority(self) -> u8 {
        match self {
            JobKind::PendingDue => 10,
        }
    }

    /// Jobs of this kind one node runs at once, by default.
    pub fn default_concurrency(self) -> usize {
        match self {
            JobKind::PendingDue => 8,
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job does: its kind and its typed arguments, stored as the `kind`
/// column and the JSON `payload` column. Each variant has one handler in the
/// core ([`SystemDesk::job_run`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum JobTask {
    /// Act on a ticket whose pending time has passed (auto-close or reminder).
    #[serde(rename = "ticket.pending_due")]
    PendingDue {
        /// The ticket.
        ticket_id: i64,
        /// The pending time the job was made for, in microseconds: a ticket
        /// that has another pending time by now is left alone.
        pending_until: i64,
    },
}

impl JobTask {
    /// Its kind.
    pub fn kind(&self) -> JobKind {
        match self {
            JobTask::PendingDue { .. } => JobKind::PendingDue,
        }
    }

    /// The stored kind and payload.
    fn to_stored(&self) -> (&'static str, String) {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        (self.kind().as_str(), value.get("payload").cloned().unwrap_or(Value::Null).to_string())
    }

    /// Reads a stored kind and payload; the error says which one does not parse.
    fn from_stored(kind: &str, payload: &str) -> Result<JobTask, String> {
        let payload: Value =
            serde_json::from_str(payload).map_err(|e| format!("the stored payload of this '{kind}' job is not JSON: {e}"))?;
        serde_json::from_value(json!({ "kind": kind, "payload": payload }))
            .map_err(|e| format!("the stored '{kind}' job is not one this version runs: {e}"))
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for its run time.
    Queued,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Gave up after its last attempt; `last_error` says why.
    Failed,
}

impl JobStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<JobStatus> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed].into_iter().find(|j| j.as_str() == s)
    }
}

/// A job to enqueue ([`NewJob::new`], then the builder methods).
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to do.
    pub task: JobTask,
    /// Earliest run time in microseconds (default: now).
    pub run_at: Option<i64>,
    /// Attempts before giving up (default 10).
    pub max_attempts: Option<i64>,
    /// At most one queued or running job per kind and key (e.g. one fetch per
    /// mail account), enforced by the database: enqueueing a job whose key is
    /// taken returns the job that holds it and adds none.
    pub dedup_key: Option<String>,
}

impl NewJob {
    /// A job due now, with 10 attempts and no dedup key.
    pub fn new(task: JobTask) -> NewJob {
        NewJob { task, run_at: None, max_attempts: None, dedup_key: None }
    }

    /// Due at `micros` (microseconds since the epoch).
    pub fn at(mut self, micros: i64) -> NewJob {
        self.run_at = Some(micros);
        self
    }

    /// Gives up after `attempts`.
    pub fn attempts(mut self, attempts: i64) -> NewJob {
        self.max_attempts = Some(attempts);
        self
    }

    /// At most one queued or running job of this kind with `key`.
    pub fn dedup(mut self, key: impl Into<String>) -> NewJob {
        self.dedup_key = Some(key.into());
        self
    }
}

/// A stored job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// The kind as stored (shown even when this version cannot run it).
    pub kind: String,
    /// The arguments as stored (JSON text).
    pub payload: String,
    /// What to do; an error when the stored kind or payload does not parse
    /// (the worker fails such a job with this message instead of guessing).
    pub task: Result<JobTask, String>,
    /// Status.
    pub status: JobStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Next run time.
    pub run_at: DateTime<Utc>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// The worker (node) that holds the lease, or that finished or last
    /// failed the job: which node ran what, for operators.
    pub worker: Option<String>,
    /// Its dedup key, if it has one ([`NewJob::dedup_key`]).
    pub dedup_key: Option<String>,
    /// When its last attempt started (claimed by a worker).
    pub started_at: Option<DateTime<Utc>>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str =
    "id, kind, payload, status, attempts, max_attempts, run_at, last_error, locked_by, dedup_key, started_at, created_at, updated_at";

pub(crate) fn job_from_row(row: &AnyRow) -> Result<Job, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let payload: String = row.try_get("payload")?;
    let status: String = row.try_get("status")?;
    Ok(Job {
        id: row.try_get("id")?,
        task: JobTask::from_stored(&kind, &payload),
        kind,
        payload,
        status: stored::parse("status", &status, JobStatus::parse, "a job status")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: stored::time("run_at", row.try_get("run_at")?)?,
        last_error: row.try_get("last_error")?,
        worker: row.try_get("locked_by")?,
        dedup_key: row.try_get("dedup_key")?,
        started_at: stored::time_opt("started_at", row.try_get("started_at")?)?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        updated_at: stored::time("updated_at", row.try_get("updated_at")?)?,
    })
}

/// The PostgreSQL channel a commit that enqueued jobs notifies, so every
/// node's worker wakes at once (this node's is woken in-process).
pub const JOBS_CHANNEL: &str = "switchboard_jobs";

/// Enqueues a job inside the caller's transaction, so it exists exactly when
/// the change that needs it is committed. Returns the new job's id, or the id
/// of the queued or running job that already holds its dedup key.
pub(crate) async fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> Result<i64, sqlx::Error> {
    let now = now_micros();
    let (kind, payload) = job.task.to_stored();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, dedup_key, created_at, updated_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $5, $6, $6) \
         ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(job.max_attempts.unwrap_or(10))
    .bind(job.run_at.unwrap_or(now))
    .bind(job.dedup_key.as_deref())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT id FROM jobs WHERE kind = $1 AND dedup_key = $2 AND status IN ('queued', 'running')")
                .bind(kind)
                .bind(job.dedup_key.as_deref())
                .fetch_one(&mut *conn)
                .await
        }
    }
}

/// Tells the other nodes' workers, when the caller's transaction commits,
/// that jobs were enqueued (PostgreSQL `NOTIFY` on [`JOBS_CHANNEL`]; nothing on SQLite).
pub(crate) async fn announce_jobs(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')").bind(JOBS_CHANNEL).execute(conn).await?;
    }
    Ok(())
}

/// Delay before retry number `attempt` (1-based): 2 s, 4 s, 8 s … capped at one hour.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 12) as u32;
    Duration::from_secs((1u64 << exp).min(3600))
}

impl SystemDesk {
    /// Notified after a commit that enqueued jobs on this node (the worker
    /// waits on it besides its poll and, on PostgreSQL, [`JOBS_CHANNEL`]).
    pub fn jobs_wake(&self) -> &Arc<Notify> {
        &self.desk().inner.jobs_wake
    }

    /// Enqueues a job in its own transaction and wakes the workers: this
    /// node's at once, other nodes' through [`JOBS_CHANNEL`] on PostgreSQL.
    pub async fn job_enqueue(&self, job: NewJob) -> Result<i64, DeskError> {
        Ok(self.job_enqueue_many(std::slice::from_ref(&job)).await?.remove(0))
    }

    /// Enqueues several jobs in one transaction (one commit), in order;
    /// returns their ids (see [`NewJob::dedup_key`] for jobs that were there).
    pub async fn job_enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<i64>, DeskError> {
        let mut tx = self.db().begin_write().await?;
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            ids.push(enqueue(&mut tx.tx, job).await?);
        }
        if !jobs.is_empty() {
            announce_jobs(&mut tx.tx, self.db().backend()).await?;
        }
        tx.commit().await?;
        self.desk().jobs_scheduled(!jobs.is_empty());
        Ok(ids)
    }

    /// Counts the queued, running and failed jobs by kind, with the run time of
    /// the oldest due queued one (for `/metrics`; done jobs are not counted).
    pub async fn job_counts(&self) -> Result<Vec<JobCount>, DeskError> {
        let rows = sqlx::query(
            "SELECT kind, status, COUNT(*) AS n, MIN(CASE WHEN status = 'queued' AND run_at <= $1 THEN run_at END) AS oldest \
             FROM jobs WHERE status IN ('queued', 'running', 'failed') GROUP BY kind, status ORDER BY kind, status",
        )
        .bind(now_micros())
        .fetch_all(self.db().pool())
        .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            counts.push(JobCount {
                kind: row.try_get("kind")?,
                status: stored::parse("status", &status, JobStatus::parse, "a job status")?,
                count: row.try_get("n")?,
                oldest_due: stored::time_opt("oldest", row.try_get("oldest")?)?,
            });
        }
        Ok(counts)
    }
}

/// How many jobs of one kind are in one status ([`SystemDesk::job_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    /// The stored kind (also kinds this version does not run).
    pub kind: String,
    /// Queued, running or failed.
    pub status: JobStatus,
    /// How many.
    pub count: i64,
    /// For queued jobs: the run time of the oldest one that is due (its wait).
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Which jobs [`Desk::job_list`] lists.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this stored kind.
    pub kind: Option<String>,
}

impl Desk {
    /// Wakes this node's worker after a commit that enqueued jobs (when
    /// `enqueued`), so a due job starts at once and a later one is slept towards.
    pub(crate) fn jobs_scheduled(&self, enqueued: bool) {
        if enqueued {
            self.inner.jobs_wake.notify_one();
        }
    }

    /// Lists recent jobs, newest first (admin only).
    pub async fn job_list(&self, actor: &Actor, query: JobQuery, limit: i64) -> Result<Vec<Job>, DeskError> {
        actor.require_admin()?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs WHERE 1 = 1"));
        if let Some(status) = query.status {
            sql.push(" AND status = ").bind(Arg::Text(status.as_str().to_string()));
        }
        if let Some(kind) = query.kind {
            sql.push(" AND kind = ").bind(Arg::Text(kind));
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(Arg::Int(limit.clamp(1, 1000)));
        let rows = sql.query().fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(job_from_row).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, JobKind, JobTask};
    use std::time::Duration;

    #[test]
    fn tasks_round_trip_through_their_stored_form() {
        let task = JobTask::PendingDue { ticket_id: 7, pending_until: 1_700_000_000_000_000 };
        let (kind, payload) = task.to_stored();
        assert_eq!((kind, payload.as_str()), ("ticket.pending_due", r#"{"pending_until":1700000000000000,"ticket_id":7}"#));
        assert_eq!(JobTask::from_stored(kind, &payload), Ok(task));
        let unknown = JobTask::from_stored("mail.fetch", "{}").expect_err("unknown kind");
        assert!(unknown.contains("mail.fetch"), "{unknown}");
        let bad = JobTask::from_stored("ticket.pending_due", r#"{"ticket_id":"seven"}"#).expect_err("bad payload");
        assert!(bad.contains("ticket.pending_due"), "{bad}");
        assert!(JobTask::from_stored("ticket.pending_due", "{").is_err(), "not JSON");
    }

    #[test]
    fn every_kind_is_named_as_serde_names_its_task() {
        let task = JobTask::PendingDue { ticket_id: 1, pending_until: 2 };
        let tagged = serde_json::to_value(&task).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)));
        assert_eq!(tagged.as_deref(), Some(task.kind().as_str()));
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        let priorities: Vec<u8> = JobKind::ALL.iter().map(|k| k.priority()).collect();
        assert!(priorities.windows(2).all(|w| w[0] >= w[1]), "ALL lists the kinds highest priority first");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
