//! The durable job queue: jobs live in the database, are claimed with a lease,
//! retried with exponential backoff and kept visible when they fail for good.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so several nodes share the
//! queue; SQLite claims under the single writer. A job whose worker died is
//! claimed again once its lease runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{Arg, Backend, Sql};
use crate::desk::time::{from_micros, now_micros};
use crate::desk::{Actor, Desk, DeskError};

/// Job kind: act on a ticket whose pending time has passed.
pub const PENDING_DUE: &str = "ticket.pending_due";

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
    /// What to do, e.g. [`PENDING_DUE`].
    pub kind: String,
    /// Arguments for the handler.
    pub payload: Value,
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
    /// Kind.
    pub kind: String,
    /// Arguments.
    pub payload: Value,
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
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at, updated_at";

fn job_from_row(row: &AnyRow) -> Result<Job, sqlx::Error> {
    let payload: String = row.try_get("payload")?;
    let status: String = row.try_get("status")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: from_micros(row.try_get("run_at")?),
        last_error: row.try_get("last_error")?,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}

/// Enqueues a job inside the caller's transaction, so it exists exactly when
/// the change that needs it is committed.
pub(crate) async fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> Result<i64, sqlx::Error> {
    let now = now_micros();
    sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) RETURNING id",
    )
    .bind(job.kind.as_str())
    .bind(job.payload.to_string())
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

impl Desk {
    /// Enqueues a job in its own transaction.
    pub async fn job_enqueue(&self, job: NewJob) -> Result<i64, DeskError> {
        let mut tx = self.db().begin_write().await?;
        let id = enqueue(&mut tx.tx, &job).await?;
        tx.commit().await?;
        Ok(id)
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

    /// Marks a claimed job done.
    pub async fn job_complete(&self, id: i64, worker: &str) -> Result<(), DeskError> {
        let mut tx = self.db().begin_write().await?;
        sqlx::query("UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL, updated_at = $1 WHERE id = $2 AND locked_by = $3")
            .bind(now_micros())
            .bind(id)
            .bind(worker)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: retried after a backoff, or failed for good
    /// after the last attempt.
    pub async fn job_fail(&self, job: &Job, worker: &str, error: &str) -> Result<(), DeskError> {
        let now = now_micros();
        let (status, run_at) =
            if job.attempts >= job.max_attempts { ("failed", now) } else { ("queued", now + backoff(job.attempts).as_micros() as i64) };
        let mut tx = self.db().begin_write().await?;
        sqlx::query("UPDATE jobs SET status = $1, run_at = $2, locked_by = NULL, locked_until = NULL, last_error = $3, updated_at = $4 WHERE id = $5 AND locked_by = $6")
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
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
