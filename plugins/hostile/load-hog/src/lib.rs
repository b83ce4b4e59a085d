//! Hostile test guest: a script task whose every call stays within its own
//! limits but holds what the host shares, as its params say:
//!
//! - `alloc_mib=N`: allocates and touches N MiB first (kept until the end);
//! - `spin_ms=N`: then busy-loops for N ms (reading the clock every 10,000 turns);
//! - `sleep_ms=N`: then waits N ms inside a host call (a WASI clock poll).
//!
//! Many such calls at once must not stall the server, starve other plugins
//! or grow the host's memory past its budget. The outcome is `done`.

use std::time::{Duration, Instant};

use switchboard_sdk::prelude::*;

/// The exported task.
pub struct LoadHog;

fn number(params: &[Param], key: &str) -> u64 {
    params.param(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl ScriptTask for LoadHog {
    fn run(_context: TaskContext, params: Vec<Param>) -> Result<Outcome, PluginError> {
        let mut held: Vec<Vec<u8>> = Vec::new();
        for _ in 0..number(&params, "alloc_mib") {
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(1 << 20).is_err() {
                return Err(PluginError::new("out-of-memory", format!("refused after {} MiB", held.len())));
            }
            chunk.resize(1 << 20, 0x5A);
            held.push(std::hint::black_box(chunk));
        }
        let spin = Duration::from_millis(number(&params, "spin_ms"));
        let started = Instant::now();
        let mut n: u64 = 0;
        while started.elapsed() < spin {
            for _ in 0..10_000 {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        let sleep = number(&params, "sleep_ms");
        if sleep > 0 {
            std::thread::sleep(Duration::from_millis(sleep));
        }
        let kept = held.len();
        drop(held);
        Ok(Outcome::result("done").with_data("held_mib", kept.to_string()))
    }
}

switchboard_sdk::script_task!(LoadHog);
