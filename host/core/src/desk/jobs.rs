//! The durable job queue: jobs live in the database, are claimed with a lease,
//! retried with exponential backoff and kept visible when they fail for good.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so several nodes share the
//! queue; SQLite claims under the single writer. A job whose worker died is
//! claimed again once its lease runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{Arg, Backend, Sql};
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError, SystemDesk};

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
    /// The stored kind and payload.
    fn to_stored(&self) -> (String, String) {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        (kind, value.get("payload").cloned().unwrap_or(Value::Null).to_string())
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

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to do.
    pub task: JobTask,
    /// Earliest run time in microseconds (default: now).
    pub run_at: Option<i64>,
    /// Attempts before giving up (default 10).
    pub max_attempts: Option<i64>,
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
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, last_error, locked_by, created_at, updated_at";

fn job_from_row(row: &AnyRow) -> Result<Job, sqlx::Error> {
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
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        updated_at: stored::time("updated_at", row.try_get("updated_at")?)?,
    })
}

/// Enqueues a job inside the caller's transaction, so it exists exactly when
/// the change that needs it is committed.
pub(crate) async fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> Result<i64, sqlx::Error> {
    let now = now_micros();
    let (kind, payload) = job.task.to_stored();
    sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(job.max_attempts.unwrap_or(10))
    .bind(job.run_at.unwrap_or(now))
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Delay before retry number `attempt` (1-based): 2 s, 4 s, 8 s … capped at one hour.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 12) as u32;
    Duration::from_secs((1u64 << exp).min(3600))
}

impl SystemDesk {
    /// Enqueues a job in its own transaction.
    pub async fn job_enqueue(&self, job: NewJob) -> Result<i64, DeskError> {
        let mut tx = self.db().begin_write().await?;
        let id = enqueue(&mut tx.tx, &job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Runs a job's task with its one handler. Handlers are idempotent: a job
    /// run again after a lease expiry changes nothing more than running it once.
    pub async fn job_run(&self, task: &JobTask) -> Result<(), DeskError> {
        match task {
            JobTask::PendingDue { ticket_id, pending_until } => self.handle_pending_due(*ticket_id, *pending_until).await,
        }
    }

    /// Claims up to `limit` due jobs for `worker`, leased for `lease`.
    pub async fn job_claim(&self, worker: &str, limit: i64, lease: Duration) -> Result<Vec<Job>, DeskError> {
        let now = now_micros();
        let until = now + lease.as_micros() as i64;
        let lock = match self.db().backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut sql = Sql::new("UPDATE jobs SET status = 'running', locked_by = ");
        sql.bind(Arg::Text(worker.to_string()))
            .push(", locked_until = ")
            .bind(Arg::Int(until))
            .push(", attempts = attempts + 1, updated_at = ")
            .bind(Arg::Int(now))
            .push(" WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= ")
            .bind(Arg::Int(now))
            .push(") OR (status = 'running' AND locked_until < ")
            .bind(Arg::Int(now))
            .push(") ORDER BY run_at, id LIMIT ")
            .bind(Arg::Int(limit))
            .push(&format!("{lock}) RETURNING {COLUMNS}"));
        let mut tx = self.db().begin_write().await?;
        let rows = sql.query().fetch_all(&mut *tx.tx).await?;
        tx.commit().await?;
        Ok(rows.iter().map(job_from_row).collect::<Result<_, _>>()?)
    }

    /// Marks a claimed job done, keeping `locked_by` as the worker that ran
    /// it. Does nothing when `worker` no longer holds the job (its lease ran
    /// out and another worker claimed it).
    pub async fn job_complete(&self, id: i64, worker: &str) -> Result<(), DeskError> {
        let mut tx = self.db().begin_write().await?;
        sqlx::query("UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $1 WHERE id = $2 AND locked_by = $3 AND status = 'running'")
            .bind(now_micros())
            .bind(id)
            .bind(worker)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: retried after a backoff, or failed for good
    /// after the last attempt (`locked_by` keeps the worker that failed it).
    /// Does nothing when `worker` no longer holds the job.
    pub async fn job_fail(&self, job: &Job, worker: &str, error: &str) -> Result<(), DeskError> {
        let now = now_micros();
        let (status, run_at) =
            if job.attempts >= job.max_attempts { ("failed", now) } else { ("queued", now + backoff(job.attempts).as_micros() as i64) };
        let mut tx = self.db().begin_write().await?;
        sqlx::query("UPDATE jobs SET status = $1, run_at = $2, locked_until = NULL, last_error = $3, updated_at = $4 WHERE id = $5 AND locked_by = $6 AND status = 'running'")
            .bind(status)
            .bind(run_at)
            .bind(error)
            .bind(now)
            .bind(job.id)
            .bind(worker)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes finished jobs older than `age`.
    pub async fn job_prune(&self, age: Duration) -> Result<u64, DeskError> {
        let cutoff = now_micros() - age.as_micros() as i64;
        let mut tx = self.db().begin_write().await?;
        let done = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND updated_at < $1").bind(cutoff).execute(&mut *tx.tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

impl Desk {
    /// Lists recent jobs, newest first (admin only).
    pub async fn job_list(&self, actor: &Actor, status: Option<JobStatus>, limit: i64) -> Result<Vec<Job>, DeskError> {
        actor.require_admin()?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs"));
        if let Some(status) = status {
            sql.push(" WHERE status = ").bind(Arg::Text(status.as_str().to_string()));
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(Arg::Int(limit.clamp(1, 1000)));
        let rows = sql.query().fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(job_from_row).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, JobTask};
    use std::time::Duration;

    #[test]
    fn tasks_round_trip_through_their_stored_form() {
        let task = JobTask::PendingDue { ticket_id: 7, pending_until: 1_700_000_000_000_000 };
        let (kind, payload) = task.to_stored();
        assert_eq!((kind.as_str(), payload.as_str()), ("ticket.pending_due", r#"{"pending_until":1700000000000000,"ticket_id":7}"#));
        assert_eq!(JobTask::from_stored(&kind, &payload), Ok(task));
        let unknown = JobTask::from_stored("mail.fetch", "{}").expect_err("unknown kind");
        assert!(unknown.contains("mail.fetch"), "{unknown}");
        let bad = JobTask::from_stored("ticket.pending_due", r#"{"ticket_id":"seven"}"#).expect_err("bad payload");
        assert!(bad.contains("ticket.pending_due"), "{bad}");
        assert!(JobTask::from_stored("ticket.pending_due", "{").is_err(), "not JSON");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
