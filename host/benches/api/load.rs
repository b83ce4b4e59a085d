//! The load generator: N concurrent workers running one request kind, with latency statistics.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::options::Backend;
use crate::report::{percentile, Row};

pub(crate) struct LoadSpec {
    concurrency: usize,
    /// Stop starting new requests after this long.
    pub(crate) duration: Option<Duration>,
    /// Stop after this many requests.
    pub(crate) count: Option<u64>,
    /// External stop signal.
    pub(crate) stop: Arc<AtomicBool>,
    /// Stop once this many requests failed.
    pub(crate) max_errors: u64,
    /// Print progress every `step` finished requests, with this label.
    pub(crate) progress: Option<(String, u64)>,
}

impl LoadSpec {
    pub(crate) fn new(concurrency: usize) -> LoadSpec {
        LoadSpec { concurrency, duration: None, count: None, stop: Arc::new(AtomicBool::new(false)), max_errors: 1000, progress: None }
    }
}

pub(crate) struct LoadResult {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) errors: u64,
    error_samples: Vec<String>,
    elapsed: Duration,
}

impl LoadResult {
    pub(crate) fn row(&self, backend: Backend, scenario: impl Into<String>, concurrency: usize) -> Row {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        Row {
            backend: backend.name(),
            scenario: scenario.into(),
            concurrency,
            ok: sorted.len() as u64,
            errors: self.errors,
            elapsed: self.elapsed,
            p50: percentile(&sorted, 0.50),
            p99: percentile(&sorted, 0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    pub(crate) fn print_errors(&self) {
        if self.errors > 0 {
            println!("    {} request(s) failed; first errors:", self.errors);
            for e in self.error_samples.iter().take(8) {
                println!("      - {e}");
            }
        }
    }
}

/// Runs `op(i)` for i = 0, 1, … from `concurrency` workers until the duration, count or stop
/// signal ends it. Only successful requests contribute latencies.
pub(crate) async fn run_load<F, Fut>(spec: LoadSpec, op: F) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = spec.duration.map(|d| start + d);
    let mut workers = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        let (op, next, done, failed, stop) = (op.clone(), next.clone(), done.clone(), failed.clone(), spec.stop.clone());
        let (count, max_errors) = (spec.count, spec.max_errors);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut samples = Vec::new();
            let mut errors = 0u64;
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| i >= c) {
                    break;
                }
                let t = Instant::now();
                let result = op(i).await;
                let took = t.elapsed();
                match result {
                    Ok(()) => latencies.push(took),
                    Err(e) => {
                        errors += 1;
                        if samples.len() < 4 {
                            samples.push(e);
                        }
                        if failed.fetch_add(1, Ordering::Relaxed) + 1 >= max_errors {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (latencies, samples, errors)
        }));
    }

    let progress = spec.progress.map(|(label, step)| {
        let (done, failed, stop, total) = (done.clone(), failed.clone(), spec.stop.clone(), spec.count);
        tokio::spawn(async move {
            let step = step.max(1);
            let mut next_mark = step;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let n = done.load(Ordering::Relaxed);
                if n >= next_mark {
                    let secs = start.elapsed().as_secs_f64();
                    println!(
                        "    {label}: {n}{} done, {:.0}/s, {} errors, {:.0}s elapsed",
                        total.map(|t| format!("/{t}")).unwrap_or_default(),
                        n as f64 / secs.max(1e-9),
                        failed.load(Ordering::Relaxed),
                        secs
                    );
                    next_mark = (n / step + 1) * step;
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    });

    let mut result = LoadResult { latencies: Vec::new(), errors: 0, error_samples: Vec::new(), elapsed: Duration::ZERO };
    for worker in workers {
        match worker.await {
            Ok((latencies, samples, errors)) => {
                result.latencies.extend(latencies);
                result.errors += errors;
                result.error_samples.extend(samples);
            }
            Err(e) => {
                result.errors += 1;
                result.error_samples.push(format!("load worker panicked: {e}"));
            }
        }
    }
    result.elapsed = start.elapsed();
    if let Some(p) = progress {
        p.abort();
    }
    result
}
