//! The job worker: claims due jobs from the durable queue and runs them.
//!
//! Each job kind has one handler in the core. A failing job is retried with
//! backoff; a worker that dies leaves its jobs to be claimed again when their
//! lease runs out, so a job runs at least once (handlers are idempotent).

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use crate::desk::{DeskError, Job, SystemDesk};

/// Jobs claimed per round.
const BATCH: i64 = 16;

/// How the worker polls and leases.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How long to sleep when no job is due.
    pub poll_interval: Duration,
    /// How long a claimed job is this worker's before another node may take it
    /// (the longest a dead node's jobs wait).
    pub lease: Duration,
}

/// Runs jobs until `shutdown` turns true; finishes the job in hand first.
pub async fn run(desk: SystemDesk, settings: WorkerSettings, mut shutdown: watch::Receiver<bool>) {
    let worker = worker_id();
    info!(worker = %worker, lease_secs = settings.lease.as_secs_f64(), "job worker started");
    let mut last_prune = Instant::now();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let claimed_at = Instant::now();
        let jobs = match desk.job_claim(&worker, BATCH, settings.lease).await {
            Ok(jobs) => jobs,
            Err(err) => {
                warn!(error = %err, "could not claim jobs");
                Vec::new()
            }
        };
        let idle = jobs.is_empty();
        for job in jobs {
            // The batch shares one lease: a job whose lease ran out while the
            // ones before it ran may already be another node's; leave it.
            if claimed_at.elapsed() >= settings.lease {
                warn!(id = job.id, "lease ran out before the job started; leaving it to the next claim");
                continue;
            }
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
            last_prune = Instant::now();
            if let Err(err) = desk.job_prune(Duration::from_secs(7 * 24 * 3600)).await {
                warn!(error = %err, "could not prune finished jobs");
            }
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(settings.poll_interval) => {}
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

/// This process's name in `jobs.locked_by`: host, process id and a random
/// part, so two nodes never share one (containers often all run as pid 1,
/// and a restarted node must not pass for the one that died).
fn worker_id() -> String {
    let hostname = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let hostname = if hostname.is_empty() { "node".to_string() } else { hostname };
    format!("{hostname}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::worker_id;

    #[test]
    fn worker_ids_differ_within_one_process() {
        let (a, b) = (worker_id(), worker_id());
        assert_ne!(a, b, "two workers in one process (or two pid-1 containers) get distinct ids");
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a} names the process");
    }
}
