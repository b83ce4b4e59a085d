//! Hostile test guest: unbounded recursion with a 256-byte frame. The
//! 64 KiB shadow stack (or the host's Wasm stack limit) overflows and the
//! instance traps; the host must report the call as failed and keep running.

use std::hint::black_box;
use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct DeepRecursion;

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 256];
    frame[(depth % 256) as usize] = depth as u8;
    black_box(&mut frame);
    // Never true; stops the compiler from proving the recursion endless.
    if depth == black_box(u64::MAX) {
        return 0;
    }
    1 + recurse(depth + 1) + u64::from(frame[7])
}

impl PostmasterFilter for DeepRecursion {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        let depth = recurse(0);
        Ok(Verdict::default().with_dynamic_field("Depth", depth.to_string()))
    }
}

switchboard_sdk::postmaster_filter!(DeepRecursion);
