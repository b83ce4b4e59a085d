//! Hostile test guest: allocates (and touches) 1 MiB chunks until the host
//! refuses to grow the linear memory.
//!
//! It uses `try_reserve`, so a refused `memory.grow` does not trap: the
//! guest frees everything and returns the plugin error `out-of-memory` whose
//! message says how many MiB it got (so a test can check the cap held). A
//! host that traps on a refused grow instead makes the call fail with a trap.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct AllocBomb;

const CHUNK: usize = 1 << 20;

impl PostmasterFilter for AllocBomb {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        if chunks.try_reserve(8192).is_err() {
            return Err(PluginError::new("out-of-memory", "refused before the first chunk"));
        }
        loop {
            let mut chunk: Vec<u8> = Vec::new();
            if chunk.try_reserve_exact(CHUNK).is_err() || chunks.len() == chunks.capacity() {
                break;
            }
            chunk.resize(CHUNK, 0xA5);
            chunks.push(std::hint::black_box(chunk));
        }
        let mib = chunks.len();
        drop(chunks);
        log::warn(format!("alloc-bomb: memory refused after {mib} MiB"));
        Err(PluginError::new("out-of-memory", format!("allocated {mib} MiB before the host refused more memory")))
    }
}

switchboard_sdk::postmaster_filter!(AllocBomb);
