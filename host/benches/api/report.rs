//! Result rows, failures and notes collected over the run, and the printed table.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::options::Backend;

/// One line of the final table.
pub(crate) struct Row {
    pub(crate) backend: &'static str,
    pub(crate) scenario: String,
    pub(crate) concurrency: usize,
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    /// Failures that make the exit status non-zero.
    pub(crate) failures: Vec<String>,
    /// Observations about the server that do not fail the run (possible bugs).
    pub(crate) notes: Vec<String>,
    /// Creates and gets as a ratio to the database floor, one line each.
    pub(crate) ratios: Vec<String>,
}

pub(crate) type SharedReport = Arc<Mutex<Report>>;

pub(crate) fn with_report<T>(report: &SharedReport, f: impl FnOnce(&mut Report) -> T) -> T {
    let mut guard = report.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

pub(crate) fn fail(report: &SharedReport, backend: Backend, msg: impl Into<String>) {
    let msg = format!("[{}] {}", backend.name(), msg.into());
    println!("  !! FAIL: {msg}");
    with_report(report, |r| r.failures.push(msg));
}

pub(crate) fn note(report: &SharedReport, backend: Backend, msg: impl Into<String>) {
    let msg = format!("[{}] {}", backend.name(), msg.into());
    println!("  ?? NOTE: {msg}");
    with_report(report, |r| r.notes.push(msg));
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub(crate) fn print_row(row: &Row) {
    let rate = row.ok as f64 / row.elapsed.as_secs_f64().max(1e-9);
    println!(
        "  {:<8} {:<38} conc={:<3} ok={:<7} errors={:<4} {:>6.1}s {:>9.1} req/s  p50={:>8} ms  p99={:>8} ms  max={:>8} ms",
        row.backend,
        row.scenario,
        row.concurrency,
        row.ok,
        row.errors,
        row.elapsed.as_secs_f64(),
        rate,
        ms(row.p50),
        ms(row.p99),
        ms(row.max),
    );
}

pub(crate) fn print_table(rows: &[Row]) {
    println!(
        "{:<9} {:<38} {:>5} {:>8} {:>7} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "backend", "scenario", "conc", "ok", "errors", "secs", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(134));
    for row in rows {
        let rate = row.ok as f64 / row.elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<9} {:<38} {:>5} {:>8} {:>7} {:>8.1} {:>10.1} {:>10} {:>10} {:>10}",
            row.backend,
            row.scenario,
            row.concurrency,
            row.ok,
            row.errors,
            row.elapsed.as_secs_f64(),
            rate,
            ms(row.p50),
            ms(row.p99),
            ms(row.max),
        );
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).saturating_sub(1);
    sorted[idx.min(sorted.len() - 1)]
}
