//! The job queue on `/metrics`: jobs queued, running and failed by kind and
//! the oldest queued job's wait (the whole cluster's, read from the database
//! every few seconds), and this node's runs by kind and outcome and how long
//! due jobs waited to start.

use std::time::Duration;

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::desk::{JobCount, JobStatus};

/// How often the queue's counts are read from the database.
pub(super) const REFRESH: Duration = Duration::from_secs(5);

/// How a run ended, as the `outcome` label.
#[derive(Debug, Clone, Copy)]
pub(super) enum RunOutcome {
    /// Done (its writes committed with its completion, or it had none).
    Done,
    /// Failed; queued again after a backoff.
    Retried,
    /// Failed its last attempt.
    Failed,
    /// Its lease ran out and another worker holds it; this run changed nothing.
    LeaseLost,
}

impl RunOutcome {
    fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Done => "done",
            RunOutcome::Retried => "retried",
            RunOutcome::Failed => "failed",
            RunOutcome::LeaseLost => "lease_lost",
        }
    }
}

/// The worker's collectors, shown by the API's `/metrics`.
#[derive(Clone)]
pub struct JobMetrics {
    registry: Registry,
    jobs: IntGaugeVec,
    oldest: GaugeVec,
    runs: IntCounterVec,
    start_delay: HistogramVec,
}

impl JobMetrics {
    /// Creates and registers the collectors.
    pub fn new() -> JobMetrics {
        let registry = Registry::new();
        let jobs = IntGaugeVec::new(
            Opts::new("switchboard_jobs", "Jobs by kind and status (queued, running, failed), all nodes"),
            &["kind", "status"],
        )
        .expect("static metric definition");
        let oldest = GaugeVec::new(
            Opts::new(
                "switchboard_jobs_oldest_queued_seconds",
                "How long the oldest due queued job of each kind has waited (0: none is due yet)",
            ),
            &["kind"],
        )
        .expect("static metric definition");
        let runs =
            IntCounterVec::new(Opts::new("switchboard_job_runs_total", "Job runs on this node by kind and outcome"), &["kind", "outcome"])
                .expect("static metric definition");
        let start_delay = HistogramVec::new(
            HistogramOpts::new("switchboard_job_start_delay_seconds", "From a job's due time to its start on this node")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["kind"],
        )
        .expect("static metric definition");
        for collector in [
            Box::new(jobs.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(oldest.clone()),
            Box::new(runs.clone()),
            Box::new(start_delay.clone()),
        ] {
            registry.register(collector).expect("unique metric");
        }
        JobMetrics { registry, jobs, oldest, runs, start_delay }
    }

    /// The registry to gather from.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Replaces the queue's counts with `counts` (kinds that have none drop out).
    pub(super) fn set_counts(&self, counts: &[JobCount]) {
        self.jobs.reset();
        self.oldest.reset();
        let now = chrono::Utc::now();
        for count in counts {
            self.jobs.with_label_values(&[count.kind.as_str(), count.status.as_str()]).set(count.count);
            if count.status == JobStatus::Queued {
                // 0 when the kind's queued jobs are all due later.
                let waited = count.oldest_due.map_or(0, |due| (now - due).num_microseconds().unwrap_or(0).max(0));
                self.oldest.with_label_values(&[count.kind.as_str()]).set(waited as f64 / 1e6);
            }
        }
    }

    /// Counts one run of a job of `kind`.
    pub(super) fn run(&self, kind: &str, outcome: RunOutcome) {
        self.runs.with_label_values(&[kind, outcome.as_str()]).inc();
    }

    /// A job of `kind` started `delay` after it was due.
    pub(super) fn started(&self, kind: &str, delay: Duration) {
        self.start_delay.with_label_values(&[kind]).observe(delay.as_secs_f64());
    }
}

impl Default for JobMetrics {
    fn default() -> Self {
        JobMetrics::new()
    }
}
