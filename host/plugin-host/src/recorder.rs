//! Invocation records and HTTP audit entries are written in the background,
//! in batches, so no database write sits on a plugin call's path; metrics are
//! counted in memory.

use std::time::Duration;

/// How long the writer gathers records after the first of a batch: 50 ms (a
/// flush waits at most that long).
const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// The most records one transaction writes (a bigger batch takes several).
const BATCH_RECORDS: usize = 500;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tokio::sync::{mpsc, oneshot};

use crate::failure::{outcome_of, Failure, FailureKind, InvocationOutcome};
use crate::invoke::Report;
use switchboard_core::desk::{HttpAuditRecord, InvocationRecord, SystemDesk};

/// Prometheus collectors for plugin calls.
pub struct PluginMetrics {
    registry: Registry,
    invocations: IntCounterVec,
    errors: IntCounterVec,
    refusals: IntCounterVec,
    latency: HistogramVec,
}

impl PluginMetrics {
    fn new() -> PluginMetrics {
        let registry = Registry::new();
        let invocations =
            IntCounterVec::new(Opts::new("plugin_invocations_total", "Plugin invocations by plugin and outcome"), &["plugin", "outcome"])
                .expect("static metric");
        let errors = IntCounterVec::new(Opts::new("plugin_errors_total", "Plugin failures by plugin and kind"), &["plugin", "kind"])
            .expect("static metric");
        let refusals = IntCounterVec::new(
            Opts::new("plugin_refusals_total", "Plugin calls refused before running (busy host, disabled plugin) by plugin and kind"),
            &["plugin", "kind"],
        )
        .expect("static metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("plugin_invocation_duration_seconds", "Plugin invocation latency")
                .buckets(vec![0.00001, 0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1.0, 5.0]),
            &["plugin"],
        )
        .expect("static metric");
        registry.register(Box::new(invocations.clone())).expect("unique metric");
        registry.register(Box::new(errors.clone())).expect("unique metric");
        registry.register(Box::new(refusals.clone())).expect("unique metric");
        registry.register(Box::new(latency.clone())).expect("unique metric");
        PluginMetrics { registry, invocations, errors, refusals, latency }
    }

    /// The registry to expose on `/metrics`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts a call refused before its guest ran.
    pub(crate) fn refused(&self, plugin: &str, kind: FailureKind) {
        self.refusals.with_label_values(&[plugin, kind.as_str()]).inc();
    }

    /// The collectors of one plugin, resolved once so a call only increments.
    pub(crate) fn for_plugin(&self, plugin: &str) -> PluginCounters {
        PluginCounters {
            ok: self.invocations.with_label_values(&[plugin, "ok"]),
            plugin_error: self.invocations.with_label_values(&[plugin, "plugin_error"]),
            failed: self.invocations.with_label_values(&[plugin, "failed"]),
            latency: self.latency.with_label_values(&[plugin]),
        }
    }
}

/// Pre-resolved metrics of one plugin.
pub(crate) struct PluginCounters {
    ok: prometheus::IntCounter,
    plugin_error: prometheus::IntCounter,
    failed: prometheus::IntCounter,
    latency: prometheus::Histogram,
}

impl PluginCounters {
    pub(crate) fn observe(&self, report: &Report, status: &Result<(), Failure>, metrics: &PluginMetrics) {
        match outcome_of(status) {
            InvocationOutcome::Ok => self.ok.inc(),
            InvocationOutcome::PluginError => self.plugin_error.inc(),
            InvocationOutcome::Failed => self.failed.inc(),
        }
        if let Err(f) = status {
            metrics.errors.with_label_values(&[&report.plugin, f.kind.as_str()]).inc();
        }
        self.latency.observe(report.duration_us as f64 / 1e6);
    }
}

enum Message {
    Record(Box<InvocationRecord>, Vec<HttpAuditRecord>),
    Flush(oneshot::Sender<()>),
}

/// The background writer.
pub(crate) struct Recorder {
    tx: Option<mpsc::Sender<Message>>,
    metrics: PluginMetrics,
}

impl Recorder {
    pub(crate) fn start(desk: Option<SystemDesk>, keep: i64) -> Recorder {
        let metrics = PluginMetrics::new();
        let Some(desk) = desk else { return Recorder { tx: None, metrics } };
        let (tx, mut rx) = mpsc::channel::<Message>(10_000);
        tokio::spawn(async move {
            let mut records = Vec::new();
            let mut audit = Vec::new();
            let mut open = true;
            while open {
                let mut flushed = Vec::new();
                match rx.recv().await {
                    None => break,
                    Some(Message::Record(r, a)) => {
                        records.push(*r);
                        audit.extend(a);
                        // Gather a batch: one transaction for the records of
                        // BATCH_WINDOW of calls. The writer sleeps meanwhile
                        // rather than wake for each record (a thread wake-up
                        // per plugin call), then takes what queued up.
                        tokio::time::sleep(BATCH_WINDOW).await;
                    }
                    Some(Message::Flush(done)) => flushed.push(done),
                }
                loop {
                    match rx.try_recv() {
                        Ok(Message::Record(r, a)) => {
                            records.push(*r);
                            audit.extend(a);
                        }
                        Ok(Message::Flush(done)) => flushed.push(done),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
                if !records.is_empty() || !audit.is_empty() {
                    for batch in records.chunks(BATCH_RECORDS) {
                        if let Err(err) = desk.plugin_invocations_store(batch, keep).await {
                            tracing::warn!(error = %err, count = batch.len(), "could not store plugin invocation records");
                        }
                    }
                    if let Err(err) = desk.plugin_http_audit_store(&audit).await {
                        tracing::warn!(error = %err, count = audit.len(), "could not store plugin HTTP audit records");
                    }
                    records.clear();
                    audit.clear();
                }
                for done in flushed {
                    let _ = done.send(());
                }
            }
        });
        Recorder { tx: Some(tx), metrics }
    }

    pub(crate) fn metrics(&self) -> &PluginMetrics {
        &self.metrics
    }

    /// Queues a record; if the writer is far behind the record is dropped
    /// (and said so) rather than slowing plugin calls.
    pub(crate) fn submit(&self, record: InvocationRecord, audit: Vec<HttpAuditRecord>) {
        if let Some(tx) = &self.tx {
            if tx.try_send(Message::Record(Box::new(record), audit)).is_err() {
                tracing::warn!("plugin invocation record dropped: the recorder is behind");
            }
        }
    }

    /// Waits until everything queued so far is written.
    pub(crate) async fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Message::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}
