//! Working the job queue: claiming due jobs by kind with a lease, running a
//! job's handler so that its writes commit together with its completion,
//! completing effect-free jobs in batches, failing and pruning.
//!
//! A handler whose effects are database writes marks its job done inside the
//! same transaction ([`complete_in`]): a crash before the commit leaves
//! neither, and a worker whose lease ran out (another node took the job over)
//! finds the job no longer its own and rolls its writes back, so an effect is
//! never applied twice. Handlers with outside effects (SMTP, HTTP) run at
//! least once and carry an idempotency key the receiver can use.

use std::time::Duration;

use sqlx::AnyConnection;

use crate::db::{Arg, Backend, Sql};
use crate::desk::jobs::{backoff, job_from_row, Job, JobKind, JobTask, COLUMNS};
use crate::desk::time::now_micros;
use crate::desk::{DeskError, SystemDesk};

/// How a job's run ended ([`SystemDesk::job_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRan {
    /// The handler wrote its effects and marked the job done in one commit.
    Completed,
    /// The handler had nothing to write; the caller marks the job done
    /// (in a batch: [`SystemDesk::job_complete_many`]).
    NothingToDo,
    /// The job is no longer this worker's (its lease ran out and another
    /// worker claimed it): nothing was written.
    LeaseLost,
}

/// How many jobs a claim takes: per kind, and of kinds this version does not
/// know (claimed only to be failed with the reason).
#[derive(Debug, Clone, Default)]
pub struct ClaimRequest {
    /// Free slots per kind, in claim order (highest priority first).
    pub kinds: Vec<(JobKind, i64)>,
    /// Jobs of unknown kinds to take.
    pub unknown: i64,
}

impl ClaimRequest {
    /// True when it asks for no job at all.
    pub fn is_empty(&self) -> bool {
        self.unknown <= 0 && self.kinds.iter().all(|(_, n)| *n <= 0)
    }
}

/// The job a handler runs for and the worker that claimed it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim<'a> {
    /// The job.
    pub job_id: i64,
    /// The worker holding its lease.
    pub worker: &'a str,
}

/// Marks the claimed job done inside the caller's transaction when its worker
/// still holds it; false when it does not (the caller must roll back).
pub(crate) async fn complete_in(conn: &mut AnyConnection, claim: Claim<'_>) -> Result<bool, sqlx::Error> {
    let Claim { job_id, worker } = claim;
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $1 WHERE id = $2 AND locked_by = $3 AND status = 'running'",
    )
    .bind(now_micros())
    .bind(job_id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The claim statement for one group of jobs (`filter` is a condition on `kind`).
fn claim_sql(backend: Backend, worker: &str, now: i64, until: i64, filter: impl FnOnce(&mut Sql), limit: i64) -> Sql {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut sql = Sql::new("UPDATE jobs SET status = 'running', locked_by = ");
    sql.bind(Arg::Text(worker.to_string()))
        .push(", locked_until = ")
        .bind(Arg::Int(until))
        .push(", attempts = attempts + 1, started_at = ")
        .bind(Arg::Int(now))
        .push(", updated_at = ")
        .bind(Arg::Int(now))
        .push(" WHERE id IN (SELECT id FROM jobs WHERE ");
    filter(&mut sql);
    // The first test lets both backends use the partial index of live jobs.
    sql.push(" AND status IN ('queued', 'running') AND ((status = 'queued' AND run_at <= ")
        .bind(Arg::Int(now))
        .push(") OR (status = 'running' AND locked_until < ")
        .bind(Arg::Int(now))
        .push(")) ORDER BY run_at, id LIMIT ")
        .bind(Arg::Int(limit))
        .push(&format!("{lock}) RETURNING {COLUMNS}"));
    sql
}

impl SystemDesk {
    /// Claims up to `limit` due jobs of any kind for `worker`, leased for
    /// `lease` (tests and tools; the worker claims by kind).
    pub async fn job_claim(&self, worker: &str, limit: i64, lease: Duration) -> Result<Vec<Job>, DeskError> {
        let now = now_micros();
        let until = now + lease.as_micros() as i64;
        let sql = claim_sql(self.db().backend(), worker, now, until, |sql| _ = sql.push("1 = 1"), limit);
        let mut tx = self.db().begin_write().await?;
        let rows = sql.query().fetch_all(&mut *tx.tx).await?;
        tx.commit().await?;
        let mut jobs: Vec<Job> = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    /// Claims due jobs as `request` says, in one transaction: each kind up to
    /// its free slots, in the request's order, then jobs of unknown kinds.
    pub async fn job_claim_by_kind(&self, worker: &str, request: &ClaimRequest, lease: Duration) -> Result<Vec<Job>, DeskError> {
        let now = now_micros();
        let until = now + lease.as_micros() as i64;
        let backend = self.db().backend();
        let mut statements = Vec::new();
        for &(kind, limit) in request.kinds.iter().filter(|(_, limit)| *limit > 0) {
            let filter = |sql: &mut Sql| _ = sql.push("kind = ").bind(Arg::Text(kind.as_str().to_string()));
            statements.push(claim_sql(backend, worker, now, until, filter, limit));
        }
        if request.unknown > 0 {
            let filter = |sql: &mut Sql| _ = sql.push("kind NOT IN ").bind_list(JobKind::ALL.map(|k| Arg::Text(k.as_str().to_string())));
            statements.push(claim_sql(backend, worker, now, until, filter, request.unknown));
        }
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db().begin_write().await?;
        let mut jobs = Vec::new();
        for sql in statements {
            for row in sql.query().fetch_all(&mut *tx.tx).await? {
                jobs.push(job_from_row(&row)?);
            }
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// Runs a claimed job's task with its one handler, as `worker`. Handlers
    /// are idempotent, and those that write commit the job's completion with
    /// their writes (see the module docs).
    pub async fn job_run(&self, job: &Job, worker: &str) -> Result<JobRan, DeskError> {
        match &job.task {
            Ok(JobTask::PendingDue { ticket_id, pending_until }) => {
                self.handle_pending_due(*ticket_id, *pending_until, Claim { job_id: job.id, worker }).await
            }
            // Retried like any failure: a newer node sharing the database may run it.
            Err(unreadable) => Err(DeskError::invalid("kind", unreadable.clone())),
        }
    }

    /// Marks a claimed job done, keeping `locked_by` as the worker that ran
    /// it. Does nothing when `worker` no longer holds the job (its lease ran
    /// out and another worker claimed it).
    pub async fn job_complete(&self, id: i64, worker: &str) -> Result<(), DeskError> {
        self.job_complete_many(&[id], worker).await
    }

    /// [`SystemDesk::job_complete`] for several jobs in one commit.
    pub async fn job_complete_many(&self, ids: &[i64], worker: &str) -> Result<(), DeskError> {
        self.update_held(ids, worker, "status = 'done', locked_until = NULL, last_error = NULL").await
    }

    /// Hands jobs this worker claimed but never started back to the queue,
    /// as if never claimed (at shutdown: another node, or the next start,
    /// runs them at once instead of after their lease). Does nothing for a job
    /// `worker` no longer holds.
    pub async fn job_release(&self, ids: &[i64], worker: &str) -> Result<(), DeskError> {
        self.update_held(
            ids,
            worker,
            "status = 'queued', locked_by = NULL, locked_until = NULL, attempts = attempts - 1, started_at = NULL",
        )
        .await
    }

    /// Sets `assignments` (and the change time) on those of `ids` that
    /// `worker` still runs, in one commit.
    async fn update_held(&self, ids: &[i64], worker: &str, assignments: &str) -> Result<(), DeskError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(&format!("UPDATE jobs SET {assignments}, updated_at = "));
        sql.bind(Arg::Int(now_micros())).push(" WHERE locked_by = ").bind(Arg::Text(worker.to_string()));
        sql.push(" AND status = 'running' AND id IN ").bind_list(ids.iter().map(|id| Arg::Int(*id)));
        let mut tx = self.db().begin_write().await?;
        sql.query().execute(&mut *tx.tx).await?;
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

    /// The run time of the earliest queued job, if any (how long an idle
    /// worker may sleep).
    pub async fn job_next_due(&self) -> Result<Option<i64>, DeskError> {
        Ok(sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE status = 'queued'").fetch_one(self.db().pool()).await?)
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
