//! The job worker: claims due jobs from the durable queue and runs them, many
//! at once, each kind in its own lane.
//!
//! It wakes when a job is enqueued on this node (in-process), when another
//! node enqueues one (PostgreSQL `LISTEN`), when a running job ends, and at
//! the latest after the poll interval or at the next queued job's due time,
//! whichever comes first. Jobs are claimed ahead of their turn, several lanes'
//! worth per commit (see `lanes`), and handed back at shutdown if they never
//! started. Each job kind has one handler in the core; a
//! handler that writes commits the job's completion with its writes, and the
//! jobs that had nothing to write are marked done in batches. A failing job
//! is retried with backoff; a worker that dies leaves its jobs to be claimed
//! again when their lease runs out.

mod lanes;
mod metrics;

pub use metrics::JobMetrics;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use crate::desk::{Job, JobKind, JobRan, SystemDesk, JOBS_CHANNEL};
use lanes::Lanes;
use metrics::RunOutcome;

/// Completions of effect-free jobs written in one commit, at most.
const COMPLETE_BATCH: usize = 512;

/// How the worker polls, leases and shares its slots.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The longest an idle worker sleeps before it looks again (wake-ups
    /// usually come sooner: see the module docs).
    pub poll_interval: Duration,
    /// How long a claimed job is this worker's before another node may take it
    /// (the longest a dead node's jobs wait).
    pub lease: Duration,
    /// Jobs this node runs at once, all kinds together.
    pub concurrency: usize,
    /// Per-kind limits instead of [`JobKind::default_concurrency`].
    pub kind_concurrency: BTreeMap<JobKind, usize>,
}

impl WorkerSettings {
    /// The defaults: poll 1 s, lease 300 s, 32 jobs at once, kinds' own limits.
    pub fn new(poll_interval: Duration, lease: Duration) -> WorkerSettings {
        WorkerSettings { poll_interval, lease, concurrency: 32, kind_concurrency: BTreeMap::new() }
    }
}

/// Runs jobs until `shutdown` turns true; finishes the jobs in hand first.
pub async fn run(desk: SystemDesk, settings: WorkerSettings, metrics: JobMetrics, mut shutdown: watch::Receiver<bool>) {
    let worker: Arc<str> = worker_id().into();
    info!(worker = %worker, lease_secs = settings.lease.as_secs_f64(), concurrency = settings.concurrency, "job worker started");
    let listener = tokio::spawn(listen_for_jobs(desk.clone()));
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let completer = tokio::spawn(complete_in_batches(desk.clone(), worker.clone(), done_rx));
    let counter = tokio::spawn(refresh_counts(desk.clone(), metrics.clone()));
    let mut lanes = Lanes::new(settings.concurrency, &settings.kind_concurrency);
    let mut running: JoinSet<Option<JobKind>> = JoinSet::new();
    let mut last_prune = Instant::now();
    let wake = desk.jobs_wake().clone();
    while !*shutdown.borrow() {
        while let Some(job) = lanes.next_to_start() {
            let kind = job.task.as_ref().ok().map(|t| t.kind());
            let run = Run { desk: desk.clone(), worker: worker.clone(), metrics: metrics.clone(), done: done_tx.clone() };
            let span = info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
            running.spawn(
                async move {
                    run.job(job).await;
                    kind
                }
                .instrument(span),
            );
        }
        let mut claimed = 0;
        let request = lanes.request();
        if !request.is_empty() {
            match desk.job_claim_by_kind(&worker, &request, settings.lease).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    jobs.into_iter().for_each(|job| lanes.claimed(job));
                }
                Err(err) => warn!(error = %err, "could not claim jobs"),
            }
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = Instant::now();
            if let Err(err) = desk.job_prune(Duration::from_secs(7 * 24 * 3600)).await {
                warn!(error = %err, "could not prune finished jobs");
            }
        }
        if claimed > 0 {
            // Start what was claimed; there may be more due.
            reap(&mut running, &mut lanes);
            continue;
        }
        let nap = idle_for(&desk, &settings, !lanes.request().is_empty()).await;
        tokio::select! {
            _ = wake.notified() => {}
            Some(ended) = running.join_next(), if !running.is_empty() => lanes.end(ended.unwrap_or(None)),
            _ = tokio::time::sleep(nap) => {}
            _ = shutdown.changed() => {}
        }
        reap(&mut running, &mut lanes);
    }
    info!("job worker stopping; finishing the jobs in hand");
    let waiting: Vec<i64> = lanes.drain_waiting().iter().map(|job| job.id).collect();
    if let Err(err) = desk.job_release(&waiting, &worker).await {
        warn!(error = %err, jobs = waiting.len(), "could not hand claimed jobs back; they run after their lease");
    }
    while running.join_next().await.is_some() {}
    drop(done_tx);
    let _ = completer.await;
    listener.abort();
    counter.abort();
}

/// How long to wait for a wake-up: until the next queued job is due, at most
/// the poll interval. When due jobs were left unclaimed (their lanes full, or
/// another node just took them) the wait is short but not zero.
async fn idle_for(desk: &SystemDesk, settings: &WorkerSettings, room: bool) -> Duration {
    if !room {
        return settings.poll_interval;
    }
    let next = match desk.job_next_due().await {
        Ok(next) => next,
        Err(err) => {
            warn!(error = %err, "could not read the next due job");
            None
        }
    };
    let now = chrono::Utc::now().timestamp_micros();
    match next {
        Some(due) if due > now => Duration::from_micros((due - now) as u64).min(settings.poll_interval),
        Some(_) => (settings.poll_interval / 20).max(Duration::from_millis(5)),
        None => settings.poll_interval,
    }
}

/// Frees the lanes of jobs that ended.
fn reap(running: &mut JoinSet<Option<JobKind>>, lanes: &mut Lanes) {
    while let Some(ended) = running.try_join_next() {
        lanes.end(ended.unwrap_or(None));
    }
}

/// What a running job needs.
struct Run {
    desk: SystemDesk,
    worker: Arc<str>,
    metrics: JobMetrics,
    done: mpsc::UnboundedSender<i64>,
}

impl Run {
    /// Runs one job and records how it went.
    async fn job(self, job: Job) {
        let due = job.run_at.timestamp_micros();
        let waited = chrono::Utc::now().timestamp_micros().saturating_sub(due).max(0);
        self.metrics.started(&job.kind, Duration::from_micros(waited as u64));
        let outcome = match self.desk.job_run(&job, &self.worker).await {
            Ok(JobRan::Completed) => RunOutcome::Done,
            Ok(JobRan::NothingToDo) => {
                // Marked done in the next batch; if the node dies first the
                // job runs again and again finds nothing to do.
                let _ = self.done.send(job.id);
                RunOutcome::Done
            }
            Ok(JobRan::LeaseLost) => {
                warn!("the job's lease ran out and another worker holds it; this run changed nothing");
                RunOutcome::LeaseLost
            }
            Err(err) => {
                warn!(error = %err, "job failed");
                if let Err(err) = self.desk.job_fail(&job, &self.worker, &err.to_string()).await {
                    warn!(error = %err, "could not record the job's failure; it will run again after its lease");
                }
                if job.attempts >= job.max_attempts {
                    RunOutcome::Failed
                } else {
                    RunOutcome::Retried
                }
            }
        };
        self.metrics.run(&job.kind, outcome);
    }
}

/// Marks effect-free jobs done, as many per commit as have ended meanwhile.
async fn complete_in_batches(desk: SystemDesk, worker: Arc<str>, mut done: mpsc::UnboundedReceiver<i64>) {
    let mut batch = Vec::with_capacity(COMPLETE_BATCH);
    while done.recv_many(&mut batch, COMPLETE_BATCH).await > 0 {
        if let Err(err) = desk.job_complete_many(&batch, &worker).await {
            warn!(error = %err, jobs = batch.len(), "could not mark jobs done; they will run again after their lease");
        }
        batch.clear();
    }
}

/// On PostgreSQL, wakes this worker when any node enqueues a due job.
async fn listen_for_jobs(desk: SystemDesk) {
    let wake = desk.jobs_wake().clone();
    loop {
        match desk.db().listen(JOBS_CHANNEL).await {
            Ok(None) => return,
            Ok(Some(mut listener)) => loop {
                match listener.recv().await {
                    Ok(_) => wake.notify_one(),
                    Err(err) => {
                        warn!(error = %err, "job notifications interrupted; polling until they are back");
                        break;
                    }
                }
            },
            Err(err) => warn!(error = %err, "could not listen for job notifications; polling meanwhile"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Keeps the queue's counts on `/metrics` fresh.
async fn refresh_counts(desk: SystemDesk, metrics: JobMetrics) {
    loop {
        match desk.job_counts().await {
            Ok(counts) => metrics.set_counts(&counts),
            Err(err) => warn!(error = %err, "could not count jobs for /metrics"),
        }
        tokio::time::sleep(metrics::REFRESH).await;
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
