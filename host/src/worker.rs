//! The job worker: claims due jobs from the durable queue and runs them.
//!
//! Each job kind has one handler in the core. A failing job is retried with
//! backoff; a worker that dies leaves its jobs to be claimed again when their
//! lease runs out, so a job runs at least once (handlers are idempotent).

use std::time::Duration;

use tokio::sync::watch;
use tracing::{info_span, warn, Instrument};

use crate::desk::{DeskError, Job, SystemDesk};

/// How long a claimed job is ours before another worker may take it.
const LEASE: Duration = Duration::from_secs(300);
/// Jobs claimed per round.
const BATCH: i64 = 16;

/// Runs jobs until `shutdown` turns true; finishes the job in hand first.
pub async fn run(desk: SystemDesk, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let worker = format!("{}-{}", hostname(), std::process::id());
    let mut last_prune = tokio::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let jobs = match desk.job_claim(&worker, BATCH, LEASE).await {
            Ok(jobs) => jobs,
            Err(err) => {
                warn!(error = %err, "could not claim jobs");
                Vec::new()
            }
        };
        let idle = jobs.is_empty();
        for job in jobs {
            let span = info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
            async {
                let outcome = run_one(&desk, &job).await;
                let recorded = match outcome {
                    Ok(()) => desk.job_complete(job.id, &worker).await,
                    Err(err) => {
                        warn!(error = %err, "job failed");
                        desk.job_fail(&job, &worker, &err.to_string()).await
                    }
                };
                if let Err(err) = recorded {
                    warn!(error = %err, "could not record the job's outcome; it will run again after its lease");
                }
            }
            .instrument(span)
            .await;
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = tokio::time::Instant::now();
            if let Err(err) = desk.job_prune(Duration::from_secs(7 * 24 * 3600)).await {
                warn!(error = %err, "could not prune finished jobs");
            }
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn run_one(desk: &SystemDesk, job: &Job) -> Result<(), DeskError> {
    match &job.task {
        Ok(task) => desk.job_run(task).await,
        // Retried like any failure: a newer node sharing the database may run it.
        Err(unreadable) => Err(DeskError::invalid("kind", unreadable.clone())),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "node".into())
}
